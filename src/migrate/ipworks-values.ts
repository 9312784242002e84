/**
 * Reading IPWorks setting values as IPWorks reads them (booleans, integers, text, lists), with
 * errors that name the member and the value. Shared by the general mapping and the TLS one.
 */
import { InvalidArgumentError, show } from '../errors';
import { splitList } from '../transport/allow-list';
import type { IPWorksMember, IPWorksMemberKind } from './ipworks-members';

/** A setting's value as IPWorks users hold it: text, a number, a boolean, or a list. */
export type IPWorksValue = string | number | boolean | readonly string[];

/** How a member's kind is named in a sentence. */
export const KIND_WORDS: Readonly<Record<IPWorksMemberKind, string>> = {
  property: 'property',
  config: 'config setting',
  method: 'method',
  event: 'event',
  field: 'connection field',
};

/** `IPWorks config setting "Name"`: the member as a sentence names it. */
export function memberWords(member: IPWorksMember): string {
  return `IPWorks ${KIND_WORDS[member.kind]} "${member.name}"`;
}

/** @throws {InvalidArgumentError} the member must be `expected`, with the value given. */
export function wrongValue(member: IPWorksMember, expected: string, value: unknown): never {
  throw new InvalidArgumentError(`${memberWords(member)} must be ${expected}, got ${show(value)}`);
}

/** `true`, `false`, `1`, `0` (any case, as text or as values). */
export function readBoolean(v: IPWorksValue, m: IPWorksMember): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  const text = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return wrongValue(m, 'true, false, 1 or 0', v);
}

/** An integer, in decimal. */
export function readInteger(v: IPWorksValue, m: IPWorksMember): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v);
  return wrongValue(m, 'an integer', v);
}

/** Text, as given. */
export function readText(v: IPWorksValue, m: IPWorksMember): string {
  return typeof v === 'string' ? v : wrongValue(m, 'a string', v);
}

/** A comma-separated list, or an array of strings. */
export function readList(v: IPWorksValue, m: IPWorksMember): string[] {
  if (typeof v === 'string') return splitList(v);
  if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return [...(v as string[])];
  return wrongValue(m, 'a comma-separated string or an array of strings', v);
}
