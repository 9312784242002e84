import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { WebSocket } from 'ws';

/**
 * The package as a user gets it: `npm pack`ed, installed into a new project with only rxjs beside
 * it, the README's quick start and a handler using every exported operator compiled under
 * `strict` (no @types/ws, no skipLibCheck: every declaration users reach is type-checked) and run
 * against a real `ws` client, from CommonJS and from an ES module; two more projects pin the
 * lowest rxjs that `peerDependencies` allows. The projects share this project's TypeScript (the
 * same release a user would install) and @types/node, linked once, so each installs only rxws
 * and rxjs.
 */
const root = join(__dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const fixtures = join(__dirname, 'fixtures/consumer');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const locked = (name: string): string => lock.packages[`node_modules/${name}`].version;

/** The lowest rxjs the peer range allows (`^7.x.y`): it runs, and types under `node10`. */
const lowestRxjs = /^\^(\d+\.\d+\.\d+)$/.exec(pkg.peerDependencies.rxjs)?.[1] ?? '';
/** The first rxjs whose `exports` name its types, which `node16`/`bundler` resolution needs. */
const lowestRxjsNode16 = '7.5.5';

const node16 = { module: 'node16', moduleResolution: 'node16' };
// How a project on an older rxjs resolves modules (TypeScript 6 asks to acknowledge it).
const node10 = { module: 'commonjs', moduleResolution: 'node10', ignoreDeprecations: '6.0' };

interface Done {
  readonly stdout: string;
  readonly stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<Done> {
  return new Promise((resolve, reject) =>
    execFile(
      cmd,
      args,
      { cwd, env: { ...process.env, ...env }, maxBuffer: 16 << 20 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd})\n${stdout}${stderr}`))
          : resolve({ stdout, stderr }),
    ),
  );
}

/** The first ```ts block under "## Quick start" in the README, as written. */
function quickStart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Quick start'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  if (!block) throw new Error('README.md: no ```ts block under "## Quick start"');
  return block[1];
}

/** A new project with the tarball and the given rxjs installed. */
async function consumer(
  dir: string,
  tarball: string,
  rxjs: string,
  resolution: Record<string, string>,
): Promise<Done> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'commonjs' }),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        ...resolution,
        target: 'ES2022',
        types: ['node'],
        outDir: 'out',
      },
      include: ['*.ts'],
    }),
  );
  copyFileSync(join(fixtures, 'handler.ts'), join(dir, 'handler.ts'));
  copyFileSync(join(fixtures, 'handler.mjs'), join(dir, 'handler.mjs'));
  copyFileSync(join(fixtures, 'scale-out.ts'), join(dir, 'scale-out.ts'));
  writeFileSync(join(dir, 'quick-start.ts'), quickStart());
  writeFileSync(join(dir, 'quick-start.mjs'), quickStart());
  return run(
    'npm',
    ['install', tarball, `rxjs@${rxjs}`, '--prefer-offline', '--no-audit', '--no-fund'],
    dir,
  );
}

/** Starts the quick start, reads its address, echoes through it, stops it with SIGTERM. */
async function echoThroughQuickStart(dir: string, file: string): Promise<unknown> {
  const child = spawn(process.execPath, [file], {
    cwd: dir,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const found = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (found && found[1] !== '0') resolve(found[0]);
    });
    child.on('exit', (code) =>
      reject(new Error(`${file} exited ${code} before listening:\n${out}`)),
    );
  });
  const client = new WebSocket(url);
  const replies: string[] = [];
  await new Promise<void>((resolve, reject) => {
    client.on('error', reject);
    client.on('open', () => client.send('hello'));
    client.on('message', (data, isBinary) => {
      replies.push(`${isBinary ? 'binary' : 'text'} ${data.toString()}`);
      client.close();
    });
    client.on('close', () => resolve());
  });
  child.kill('SIGTERM');
  return { replies, exitCode: await exited };
}

describe('the packed package, installed into a new project', () => {
  const work = mkdtempSync(join(tmpdir(), 'rxws-consumer-'));
  const latest = join(work, 'latest');
  const lowest = join(work, 'lowest');
  const lowestNode16 = join(work, 'lowest-node16');
  let packed: string[] = [];
  const installs: Record<string, Done> = {};
  /** tsc's output (empty when clean), or its error, per project. */
  const compiled: Record<string, Done | string> = {};

  beforeAll(async () => {
    // A staging copy, so this never races other specs that build the project's own dist/.
    const stage = join(work, 'stage');
    mkdirSync(stage);
    for (const f of ['package.json', 'README.md', 'LICENSE']) {
      copyFileSync(join(root, f), join(stage, f));
    }
    await run(
      process.execPath,
      [tsc, '-p', 'tsconfig.build.json', '--outDir', join(stage, 'dist')],
      root,
    );
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--ignore-scripts', '--pack-destination', work],
      stage,
    );
    const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    packed = info.files.map((f) => f.path);
    const tarball = join(work, info.filename);
    // @types/node where every project finds it (node_modules of their parent folder).
    mkdirSync(join(work, 'node_modules/@types'), { recursive: true });
    symlinkSync(join(root, 'node_modules/@types/node'), join(work, 'node_modules/@types/node'));
    const [a, b, c] = await Promise.all([
      consumer(latest, tarball, locked('rxjs'), node16),
      consumer(lowest, tarball, lowestRxjs, node10),
      consumer(lowestNode16, tarball, lowestRxjsNode16, node16),
    ]);
    Object.assign(installs, { latest: a, lowest: b, lowestNode16: c });
    // Compiled here, not in a test, so each test below stands on its own.
    await Promise.all(
      [latest, lowest, lowestNode16].map(async (dir) => {
        compiled[dir] = await run(process.execPath, [tsc, '-p', '.'], dir).catch(
          (err: Error) => err.message,
        );
      }),
    );
  }, 240_000);

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('packs the build, its declarations, the README and the LICENSE, and nothing else', () => {
    expect(packed).toEqual(expect.arrayContaining(['dist/index.js', 'dist/index.d.ts']));
    expect(packed.filter((f) => !f.startsWith('dist/')).sort()).toEqual([
      'LICENSE',
      'README.md',
      'package.json',
    ]);
    // Source maps carry their sources: src/ is not shipped.
    const map = JSON.parse(readFileSync(join(work, 'stage/dist/index.js.map'), 'utf8')) as {
      sourcesContent?: string[];
    };
    expect(map.sourcesContent?.length).toBe(1);
  });

  it("installs with no warning but npm's note on bufferutil's skipped build script", async () => {
    for (const done of Object.values(installs)) {
      const warnings = `${done.stdout}${done.stderr}`
        .split('\n')
        .filter((l) => /\bwarn\b/i.test(l));
      expect(warnings.filter((l) => !l.startsWith('npm warn install-scripts'))).toEqual([]);
      const named = warnings.flatMap((l) => /install-scripts\s+(\S+)@\S+ \(/.exec(l)?.[1] ?? []);
      expect([...new Set(named)]).toEqual(warnings.length ? ['bufferutil'] : []);
    }
    // npm 11 skips install scripts it was not told to allow: bufferutil's prebuilt addon loads
    // without its script (its JS fallback would be the same module as `fallback.js`).
    const native = await run(
      process.execPath,
      ['-e', "console.log(require('bufferutil').unmask !== require('bufferutil/fallback').unmask)"],
      latest,
    );
    expect(native.stdout.trim()).toBe('true');
  });

  it.each([
    [`${locked('rxjs')}, node16`, latest],
    [`${lowestRxjs}, node10`, lowest],
    [`${lowestRxjsNode16}, node16`, lowestNode16],
  ])(
    'compiles the quick start and a handler under strict, without @types/ws, and runs them (rxjs %s)',
    async (_name, dir) => {
      expect(compiled[dir]).toEqual({ stdout: '', stderr: '' });
      const handler = await run(process.execPath, ['out/handler.js'], dir);
      expect(JSON.parse(handler.stdout)).toEqual({
        allowed: ['127.0.0.1'],
        replies: ['welcome', 'HELLO', 'WORLD'],
        closeCode: 1000,
        normal: 1000,
        logged: true,
        room: 'chat',
        tested: ['ann got {"reply":"HI"}', 'ann got {"reply":"pong"}'],
      });
      const esm = await run(process.execPath, ['handler.mjs'], dir);
      expect(JSON.parse(esm.stdout)).toEqual({ replies: ['echo hello'], closeCode: 1000 });
    },
    120_000,
  );

  it.each([
    [`${locked('rxjs')}, node16`, latest],
    [`${lowestRxjs}, node10`, lowest],
  ])(
    'types rxws/redis from its own entry, imports it without ioredis, and says what to install when called (rxjs %s)',
    async (_name, dir) => {
      expect(compiled[dir]).toEqual({ stdout: '', stderr: '' });
      const { stdout } = await run(process.execPath, ['out/scale-out.js'], dir);
      expect(JSON.parse(stdout)).toEqual({
        code: 'ERR_REDIS_MISSING',
        message:
          'redisBackplane() needs the "ioredis" package (version 6), an optional peer dependency of rxws: npm install ioredis',
        missed: 2,
      });
    },
    60_000,
  );

  it.each([['out/quick-start.js'], ['quick-start.mjs']])(
    "runs the README's quick start as %s: echo, then a clean exit on SIGTERM",
    async (file) => {
      await expect(echoThroughQuickStart(latest, file)).resolves.toEqual({
        replies: ['text hello'],
        exitCode: 0,
      });
    },
    60_000,
  );

  describe('its declarations', () => {
    const dist = (): string => join(work, 'stage/dist');
    const declarations = (): string[] =>
      readdirSync(dist(), { withFileTypes: true, recursive: true })
        .filter((e) => e.isFile() && e.name.endsWith('.d.ts'))
        .map((e) => join(e.parentPath, e.name));

    it('hold no member marked @internal', () => {
      const files = declarations();
      expect(files.length).toBeGreaterThan(20);
      const marked = files.filter((f) => readFileSync(f, 'utf8').includes('@internal'));
      expect(marked.map((f) => relative(dist(), f))).toEqual([]);
    });

    it("keep the parts' calls to a connection out of Connection's declaration", () => {
      const text = readFileSync(join(dist(), 'connection/connection.d.ts'), 'utf8');
      const members = text.slice(text.indexOf('export declare class Connection'));
      for (const name of ['handlePiece', 'sinkNext', 'overflowed', 'failInbound', 'openOutbound']) {
        expect([name, members.includes(`${name}(`) || members.includes(`${name}:`)]).toEqual([
          name,
          false,
        ]);
      }
    });

    it("reach no module of ws's from index.d.ts or testing/index.d.ts: users need no @types/ws", () => {
      const files = declarations();
      const seen = new Set<string>();
      const importers: string[] = [];
      const visit = (file: string): void => {
        if (seen.has(file)) return;
        seen.add(file);
        const text = readFileSync(file, 'utf8');
        for (const [, spec] of text.matchAll(/(?:from\s+|import\()\s*['"]([^'"]+)['"]/g)) {
          if (spec === 'ws' || spec.startsWith('ws/')) importers.push(relative(dist(), file));
          if (spec.startsWith('.')) {
            const base = join(file, '..', spec);
            visit(files.includes(`${base}.d.ts`) ? `${base}.d.ts` : join(base, 'index.d.ts'));
          }
        }
      };
      visit(join(dist(), 'index.d.ts'));
      visit(join(dist(), 'testing', 'index.d.ts'));
      expect(seen.has(join(dist(), 'testing', 'test-connection.d.ts'))).toBe(true);
      expect(seen.size).toBeGreaterThan(20);
      expect(importers).toEqual([]);
    });
  });
});
