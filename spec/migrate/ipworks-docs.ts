import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IPWorksMemberKind } from '../../src/migrate/ipworks-members';

/** One row of a member table of docs/ipworks.md, its cells as written (pipes unescaped). */
export interface DocRow {
  readonly kind: IPWorksMemberKind;
  readonly name: string;
  readonly rxws: string;
  readonly note: string;
}

/** The appendix headings of docs/ipworks.md, and the kind of member each one lists. */
export const HEADINGS: Readonly<Record<string, IPWorksMemberKind>> = {
  Properties: 'property',
  Methods: 'method',
  Events: 'event',
  'Configuration settings': 'config',
  'Connection fields': 'field',
};

export const DOC_PATH = join(__dirname, '../../docs/ipworks.md');

/** Splits a markdown table row into its cells, keeping escaped pipes (`\|`) inside cells. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim().replace(/\\\|/g, '|'));
}

/**
 * Reads the member tables of docs/ipworks.md: under each heading of HEADINGS, the first table
 * (`| IPWorks | rxws | notes |`), in order.
 */
export function readDocRows(text: string = readFileSync(DOC_PATH, 'utf8')): DocRow[] {
  const rows: DocRow[] = [];
  let kind: IPWorksMemberKind | undefined;
  let inTable = false;
  for (const line of text.split('\n')) {
    const heading = /^#{1,6} (.+)$/.exec(line);
    if (heading) {
      kind = HEADINGS[heading[1].trim()];
      inTable = false;
      continue;
    }
    if (!kind) continue;
    if (!line.startsWith('|')) {
      if (inTable) kind = undefined;
      continue;
    }
    const [first, rxws, note, ...rest] = cells(line);
    if (!inTable) {
      if (first !== 'IPWorks' || rxws !== 'rxws' || note !== 'notes' || rest.length > 0) {
        throw new Error(`the table under a member heading must read | IPWorks | rxws | notes |`);
      }
      inTable = true;
      continue;
    }
    if (/^-+$/.test(first)) continue;
    const name = /^`([^`]+)`$/.exec(first);
    if (!name) throw new Error(`a member's name must be in backticks: ${line}`);
    rows.push({ kind, name: name[1], rxws, note });
  }
  return rows;
}

/** The option a row says its member maps to (`keepAlive.time`), or undefined. */
export function optionOf(row: DocRow): string | undefined {
  return /^option `([^`]+)`$/.exec(row.rxws)?.[1];
}
