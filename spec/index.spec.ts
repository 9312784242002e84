import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as rxws from '../src';

const root = join(__dirname, '..');
const tsc = join(root, 'node_modules/typescript/bin/tsc');

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [tsc, ...args], { cwd: root }, (err, stdout, stderr) =>
      err ? reject(new Error(`tsc ${args.join(' ')}\n${stdout}${stderr}`)) : resolve(stdout),
    ),
  );
}

function declarationFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.d.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('rxws public API', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(rxws).sort()).toEqual(
      [
        'CloseCode',
        'ConnectionError',
        'ConnectionRefusedError',
        'DEFAULT_OPTIONS',
        'HookError',
        'InvalidArgumentError',
        'InvalidOptionError',
        'ListenError',
        'RxwsError',
        'SendError',
        'UnmappedSettingError',
        'allowedClients',
        'bufferMessage',
        'flowControl',
        'followReadyToSend',
        'createServer',
        'fromIPWorksConfig',
        'isValidCloseCode',
      ].sort(),
    );
  });
});

describe('the published declarations', () => {
  // Inside the project, so the declarations resolve rxjs and ws as a consumer's would.
  const out = mkdtempSync(join(root, 'node_modules/.cache-rxws-dts-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  let files: string[] = [];

  beforeAll(async () => {
    await run(['-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--outDir', out]);
    files = declarationFiles(out);
  }, 120_000);

  it('hold no member marked @internal', () => {
    expect(files.length).toBeGreaterThan(20);
    const marked = files.filter((f) => readFileSync(f, 'utf8').includes('@internal'));
    expect(marked.map((f) => relative(out, f))).toEqual([]);
  });

  it("keep the parts' calls to a connection out of Connection's declaration", () => {
    const text = readFileSync(join(out, 'connection/connection.d.ts'), 'utf8');
    const members = text.slice(text.indexOf('export declare class Connection'));
    for (const name of ['handlePiece', 'sinkNext', 'overflowed', 'failInbound', 'openOutbound']) {
      expect([name, members.includes(`${name}(`) || members.includes(`${name}:`)]).toEqual([
        name,
        false,
      ]);
    }
  });

  it('type-check on their own, without the sources', async () => {
    await expect(
      run(['--ignoreConfig', '--noEmit', '--strict', '--types', 'node', join(out, 'index.d.ts')]),
    ).resolves.toBe('');
  }, 120_000);

  it("reach no module of ws's from index.d.ts: users need no @types/ws", () => {
    const seen = new Set<string>();
    const importers: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const [, spec] of text.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)) {
        if (spec === 'ws' || spec.startsWith('ws/')) importers.push(relative(out, file));
        if (spec.startsWith('.')) {
          const base = join(file, '..', spec);
          visit(files.includes(`${base}.d.ts`) ? `${base}.d.ts` : join(base, 'index.d.ts'));
        }
      }
    };
    visit(join(out, 'index.d.ts'));
    expect(seen.size).toBeGreaterThan(20);
    expect(importers).toEqual([]);
  });
});
