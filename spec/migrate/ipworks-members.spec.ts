import { readFileSync } from 'node:fs';
import { resolveOptions } from '../../src/options';
import { IPWORKS_MEMBERS, type IPWorksMemberKind } from '../../src/migrate/ipworks-members';
import { DOC_PATH, HEADINGS, readDocRows, type DocRow } from './ipworks-docs';

/** What docs/ipworks.md must show for each member. */
function expectedRows(kind: IPWorksMemberKind): DocRow[] {
  return IPWORKS_MEMBERS.filter((m) => m.kind === kind).map((m) => ({
    kind,
    name: m.name,
    rxws: m.option ? `option \`${m.option}\`` : (m.use ?? 'none'),
    note: m.note,
  }));
}

describe('IPWORKS_MEMBERS', () => {
  it('names each member once within its kind', () => {
    for (const kind of Object.values(HEADINGS)) {
      const names = IPWORKS_MEMBERS.filter((m) => m.kind === kind).map((m) => m.name);
      expect(new Set(names).size).toBe(names.length);
    }
  });

  it('lists every member of the summary: 13 properties, 8 methods, 11 events, 45 settings', () => {
    const count = (kind: IPWorksMemberKind): number =>
      IPWORKS_MEMBERS.filter((m) => m.kind === kind).length;
    // The summary's 44 configuration settings, plus LogLevel, which its Log event refers to.
    expect([count('property'), count('method'), count('event'), count('config')]).toEqual([
      13, 8, 11, 45,
    ]);
    expect(IPWORKS_MEMBERS.filter((m) => m.kind === 'field').map((m) => m.name)).toEqual([
      'AcceptData',
      'BytesSent',
      'Connected',
      'ConnectionId',
      'DataFormat',
      'DataToSend',
      'LocalAddress',
      'ReadyToSend',
      'RemoteHost',
      'RemotePort',
      'Timeout',
    ]);
  });

  it('maps only to options createServer() has', () => {
    const names = Object.keys(resolveOptions());
    const roots = IPWORKS_MEMBERS.flatMap((m) => (m.option ? [m.option.split('.')[0]] : []));
    expect(roots.filter((r) => !names.includes(r))).toEqual([]);
  });

  it('gives each member an option, an rxws equivalent or a note saying why it has none', () => {
    for (const m of IPWORKS_MEMBERS) {
      expect(m.option !== undefined && m.use !== undefined).toBe(false);
      if (m.option === undefined && m.use === undefined) expect(m.note).not.toBe('');
    }
  });
});

describe('docs/ipworks.md', () => {
  const rows = readDocRows();

  it.each(Object.entries(HEADINGS))(
    'shows the table of "%s" exactly as IPWORKS_MEMBERS',
    (_, kind) => {
      expect(rows.filter((r) => r.kind === kind)).toEqual(expectedRows(kind));
    },
  );

  it('has one table per kind, and no member twice', () => {
    expect(rows).toHaveLength(IPWORKS_MEMBERS.length);
  });

  it('says at the top what IPWorks is', () => {
    const text = readFileSync(DOC_PATH, 'utf8');
    const firstParagraph = text.split('\n\n')[1];
    expect(firstParagraph).toMatch(/^IPWorks WebSocketServer is the WebSocket server component of/);
  });
});
