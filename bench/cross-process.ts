/**
 * Topics across processes through Redis, against one process: what the `rxws/redis` backplane
 * adds to `server.publish()`, side by side in one run.
 *
 * - single: one rxws server process, no backplane, publishing on a topic its C connections are in;
 * - pubsub / streams: two server processes on `redisBackplane({ mode })` (the shared Redis at
 *   127.0.0.1:6379, a prefix of this run's own, its keys deleted at the end): A publishes, the C
 *   subscribers are on B, which has awaited `server.joined(topic)`.
 *
 * The subscribers are raw `net` sockets in a client process of their own (this file, forked),
 * counting frames by their length. Each run: a warm-up flood, not recorded; a flood of M 100-byte
 * JSON messages, the publisher at most WINDOW ahead of the clients (told over IPC): deliveries/s
 * = M x C / (last receive - first publish); P messages paced at RATE msg/s: p50/p99 of every
 * delivery's latency, publish stamp to receive, both `performance.timeOrigin + performance.now()`
 * (comparable across processes on one machine; the offsets measured over IPC are printed). CPU %
 * of one core per process and Redis over the flood. A round runs each side once, in order;
 * medians of rounds; ratios and added latency are medians of the per-round pairs with single.
 * Waits first while the 1-minute load average is above 4. The processes run an esbuild bundle
 * (src/ inside) on plain node: tsx's hooks cost each about a CPU-second to start.
 *
 * Run: npx tsx bench/cross-process.ts [--quick] [--mode pubsub|streams|both] [--rate N]
 *      [--out DIR]
 * Needs redis-cli on PATH. Writes DIR/cross-process.json (default bench/results). --quick: tiny
 * sizes, one round, no waiting for load, written only with --out; its figures mean nothing.
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { median, percentile } from './lib/stats';

type Msg = { type: string } & Record<string, number>;
const now = (): number => performance.timeOrigin + performance.now();
const send = (message: unknown): void => void process.send?.(message);

// ---- The client process: C raw WebSocket clients, counting and timing what they receive. ----

const UPGRADE =
  'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';

function clientProcess(): void {
  let sockets: Socket[] = [];
  let [expected, total, at] = [0, 0, 0];
  let samples: Float64Array | undefined;
  let progress: NodeJS.Timeout | undefined;
  const finish = (): void => {
    clearInterval(progress);
    const lat = samples ?? new Float64Array(0);
    [samples, expected] = [undefined, 0];
    send({ type: 'done', tLast: now(), p50: percentile(lat, 50), p99: percentile(lat, 99) });
  };
  /** Reads the server's frames (unmasked, under 64 KiB); a text one has its stamp at 5-22. */
  const frames = (rest: Buffer): Buffer => {
    const t = samples ? now() : 0;
    let off = 0;
    while (rest.length - off >= 2) {
      let [len, head] = [rest[off + 1] & 0x7f, 2];
      if (len === 126) [len, head] = [rest.length - off < 4 ? 1e9 : rest.readUInt16BE(off + 2), 4];
      if (rest.length - off < head + len) break;
      if ((rest[off] & 0x0f) === 1 && expected > 0) {
        const stamp = rest.toString('latin1', off + head + 5, off + head + 22);
        if (samples) samples[at++] = t - parseFloat(stamp);
        if (++total === expected) finish();
      }
      off += head + len;
    }
    return rest.subarray(off);
  };
  const open = (port: number): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1').setNoDelay(true);
      let rest: Buffer = Buffer.alloc(0);
      let upgraded = false;
      socket.on('error', reject);
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${UPGRADE}`);
      socket.on('data', (chunk: Buffer) => {
        rest = rest.length ? Buffer.concat([rest, chunk]) : chunk;
        if (!upgraded) {
          const end = rest.indexOf('\r\n\r\n');
          if (end < 0) return;
          if (!rest.toString('latin1', 0, 12).endsWith('101')) reject(new Error('not upgraded'));
          [upgraded, rest] = [true, rest.subarray(end + 4)];
          resolve(socket);
        }
        rest = frames(rest);
      });
    });
  process.on('message', (m: { cmd: string; port: number; count: number; n: number }) => {
    if (m.cmd === 'open') {
      void Promise.all(Array.from({ length: m.count }, () => open(m.port))).then((opened) => {
        sockets = opened;
        send({ type: 'opened' });
      });
    } else if (m.cmd === 'expect' || m.cmd === 'expect-latency') {
      [expected, total, at] = [m.n * sockets.length, 0, 0];
      samples = m.cmd === 'expect-latency' ? new Float64Array(expected) : undefined;
      progress = setInterval(() => send({ type: 'progress', total }), 5);
    } else if (m.cmd === 'close') {
      for (const socket of sockets) socket.destroy();
      sockets = [];
      send({ type: 'closed' });
    } else if (m.cmd === 'clock') send({ type: 'clock', now: now() });
    else if (m.cmd === 'cpu') {
      const { user, system } = process.cpuUsage();
      send({ type: 'cpu', us: user + system, now: now() });
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---- The orchestrator. ----

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const option = (name: string, fallback: string): string =>
  args.includes(name) ? args[args.indexOf(name) + 1] : fallback;
const modeArg = option('--mode', 'both');
const modes = (modeArg === 'both' ? ['pubsub', 'streams'] : [modeArg]) as string[];
const SIZES = quick
  ? { subscribers: 10, warmup: 50, flood: 300, window: 1000, paced: 40, rounds: 1 }
  : { subscribers: 100, warmup: 1000, flood: 5000, window: 1000, paced: 1000, rounds: 3 };
const RATE = Number(option('--rate', '200'));
const REDIS = `redis://127.0.0.1:${process.env.REDIS_PORT ?? 6379}`;
const PREFIX = `rxws-bench-${randomBytes(5).toString('hex')}:`;
/** How long an answer may take: a safety net, as nothing here is lost. */
const LIMIT_S = quick ? 20 : 60;
const OUT = option('--out', quick ? '' : join(__dirname, 'results'));

/** A process driven over IPC: asks, and waits for answers of a type. */
class Child {
  private readonly waiters: { type: string; resolve: (m: Msg) => void }[] = [];
  /** Answers nobody waits for yet; `subscribed` and `progress` go to `onMessage` instead. */
  private readonly inbox: Msg[] = [];
  onMessage: (m: Msg) => void = () => undefined;
  readonly proc: ChildProcess;
  port = 0;
  constructor(
    readonly name: string,
    file: string,
    env: Record<string, string>,
  ) {
    const stdio = ['ignore', 'inherit', 'inherit', 'ipc'] as const;
    this.proc = fork(file, [], { env: { ...process.env, ...env }, stdio: [...stdio] });
    this.proc.on('message', (m: Msg) => {
      const i = this.waiters.findIndex((w) => w.type === m.type);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
      else if (m.type === 'subscribed' || m.type === 'progress') this.onMessage(m);
      else this.inbox.push(m);
    });
  }
  /** The next message of `type`; rejects when the process exits or after LIMIT_S. */
  next(type: string): Promise<Msg> {
    const i = this.inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.inbox.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => () => reject(new Error(`${this.name}: ${why} ('${type}')`));
      const [exited, timer] = [
        fail('exited'),
        setTimeout(fail(`nothing in ${LIMIT_S} s`), LIMIT_S * 1000),
      ];
      this.proc.once('exit', exited);
      this.waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          this.proc.off('exit', exited);
          resolve(m);
        },
      });
    });
  }
  ask(message: object, type: string): Promise<Msg> {
    const answer = this.next(type);
    this.proc.send(message);
    return answer;
  }
  /** Its clock minus ours, µs, from the shortest of 20 IPC round trips (± half of it). */
  async offset(): Promise<{ offsetUs: number; rttUs: number }> {
    let best = { offsetUs: NaN, rttUs: Infinity };
    for (let i = 0; i < 20; i++) {
      const t0 = now();
      const theirs = (await this.ask({ cmd: 'clock' }, 'clock')).now;
      const rttUs = (now() - t0) * 1000;
      if (rttUs < best.rttUs) best = { offsetUs: (theirs - t0) * 1000 - rttUs / 2, rttUs };
    }
    return best;
  }
  /** Ends it (a server shuts down first) and waits, 10 s at most. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const ended = new Promise((r) => this.proc.once('exit', r));
    if (this.name === 'client') this.proc.disconnect();
    else this.proc.send({ cmd: 'shutdown' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await ended;
    clearTimeout(timer);
  }
}

interface Run {
  side: string;
  round: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuPercent: { pub: number; sub: number; client: number; redis: number };
}
/** One redis-cli command against the shared Redis (no client package needed): its output. */
const cli = (...argv: string[]): string =>
  execFileSync('redis-cli', ['-u', REDIS, ...argv], { encoding: 'utf8' });

/** Bundles the server and this file for plain node: src/ inside, packages outside. */
function bundle(): { server: string; client: string } {
  const dir = mkdtempSync(join(tmpdir(), 'rxws-xp-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const requireTsx = createRequire(require.resolve('tsx/package.json'));
  const esbuild = requireTsx('esbuild') as { buildSync(options: object): unknown };
  esbuild.buildSync({
    entryPoints: { server: join(__dirname, 'lib/cross-process-server.ts'), client: __filename },
    ...{ bundle: true, packages: 'external', platform: 'node', format: 'cjs', outdir: dir },
    ...{ target: `node${process.versions.node}`, logLevel: 'error' },
  });
  symlinkSync(join(__dirname, '..', 'node_modules'), join(dir, 'node_modules'), 'dir');
  return { server: join(dir, 'server.js'), client: join(dir, 'client.js') };
}

/** Waits (10 minutes at most) while the 1-minute load average is above 4; the load. */
async function quietEnough(): Promise<number[]> {
  for (let i = 0; !quick && loadavg()[0] > 4 && i < 20; i++) {
    console.log(`load ${loadavg()[0].toFixed(2)} > 4: waiting 30 s`);
    await new Promise((r) => setTimeout(r, 30_000));
  }
  return loadavg().map((l) => Number(l.toFixed(2)));
}

async function measure(
  side: { name: string; pub: Child; sub: Child },
  client: Child,
  round: number,
): Promise<Run> {
  const { pub, sub } = side;
  const C = SIZES.subscribers;
  let subscribed = 0;
  const joined = new Promise<void>((resolve) => {
    sub.onMessage = (m) => void (m.type === 'subscribed' && ++subscribed === C && resolve());
  });
  client.onMessage = (m) => pub.proc.send({ cmd: 'acked', k: Math.floor(m.total / C) });
  await client.ask({ cmd: 'open', port: sub.port, count: C }, 'opened');
  await joined;
  /** Publishes n (flooded, or paced when `rate`); the first publish's and last receive's times. */
  const publish = async (n: number, rate?: number): Promise<Msg> => {
    client.proc.send({ cmd: rate ? 'expect-latency' : 'expect', n });
    const done = client.next('done');
    const started = pub.ask(
      { cmd: rate ? 'paced' : 'flood', n, rate, window: SIZES.window },
      'started',
    );
    const [{ t0 }, result] = await Promise.all([started, done, pub.next('published')]);
    return Object.assign(result, { t0 });
  };
  const field = (info: string, name: string): number =>
    Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1]);
  const usage = async (): Promise<[number, Msg[]]> => {
    const info = cli('INFO', 'cpu');
    const asked = [pub, sub, client].map((c) => c.ask({ cmd: 'cpu' }, 'cpu'));
    return [field(info, 'used_cpu_sys') + field(info, 'used_cpu_user'), await Promise.all(asked)];
  };
  await publish(SIZES.warmup);
  const [redis0, before] = await usage();
  const flood = await publish(SIZES.flood);
  const [redis1, after] = await usage();
  const cpu = (i: number): number =>
    ((after[i].us - before[i].us) / ((after[i].now - before[i].now) * 1000)) * 100;
  const seconds = (after[2].now - before[2].now) / 1000;
  const paced = await publish(SIZES.paced, RATE);
  await client.ask({ cmd: 'close' }, 'closed');
  return {
    side: side.name,
    round,
    deliveriesPerSec: (SIZES.flood * C * 1000) / (flood.tLast - flood.t0),
    p50Ms: paced.p50,
    p99Ms: paced.p99,
    cpuPercent: {
      ...{ pub: cpu(0), sub: cpu(1), client: cpu(2) },
      redis: side.name === 'single' ? NaN : ((redis1 - redis0) / seconds) * 100,
    },
  };
}

function gitCommit(): string {
  const head = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const status = ['status', '--porcelain', '--untracked-files=no'];
  const dirty = spawnSync('git', status, { encoding: 'utf8' }).stdout.trim() !== '';
  return head.status === 0 ? `${head.stdout.trim()}${dirty ? '+dirty' : ''}` : 'unknown';
}

const fmt = (v: number): string =>
  !Number.isFinite(v) ? '-' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);

/** Medians per side; ratios and added latency as medians of the pairs with single's runs. */
function summarize(runs: Run[]) {
  const of = (name: string): Run[] => runs.filter((r) => r.side === name);
  const single = of('single');
  return Object.fromEntries(
    [...new Set(runs.map((r) => r.side))].map((name) => {
      const med = (f: (r: Run) => number): number => median(of(name).map(f));
      const paired = (f: (r: Run, s: Run) => number): number =>
        median(of(name).map((r) => f(r, single[r.round])));
      const cpu = Object.keys(single[0].cpuPercent) as (keyof Run['cpuPercent'])[];
      const summary = {
        deliveriesPerSec: med((r) => r.deliveriesPerSec),
        ratioToSingle: paired((r, s) => r.deliveriesPerSec / s.deliveriesPerSec),
        p50Ms: med((r) => r.p50Ms),
        p99Ms: med((r) => r.p99Ms),
        addedP50Ms: paired((r, s) => r.p50Ms - s.p50Ms),
        addedP99Ms: paired((r, s) => r.p99Ms - s.p99Ms),
        cpuPercent: Object.fromEntries(cpu.map((k) => [k, med((r) => r.cpuPercent[k])])),
      };
      return [name, summary];
    }),
  );
}

async function main(): Promise<void> {
  if (modes.some((m) => m !== 'pubsub' && m !== 'streams')) {
    throw new Error(`--mode must be pubsub, streams or both, got ${modeArg}`);
  }
  const loadBefore = await quietEnough();
  const files = bundle();
  const instance = (name: string, mode: string): Child =>
    new Child(name, files.server, {
      RXWS_XP: JSON.stringify({ mode, url: REDIS, prefix: PREFIX, topic: 'bench' }),
    });
  const single = instance('single', 'none');
  const sides = [{ name: 'single', pub: single, sub: single }];
  for (const name of modes) {
    sides.push({ name, pub: instance(`${name} A`, name), sub: instance(`${name} B`, name) });
  }
  const client = new Child('client', files.client, { RXWS_XP_ROLE: 'client' });
  const everyone = [...new Set(sides.flatMap((s) => [s.pub, s.sub])), client];
  const runs: Run[] = [];
  try {
    for (const c of everyone.slice(0, -1)) c.port = (await c.next('ready')).port;
    const clocks = await Promise.all(
      everyone.map(async (c) => [c.name, await c.offset()] as const),
    );
    const { subscribers, flood, window, paced, rounds } = SIZES;
    console.log(
      `cross-process: ${subscribers} subscribers, flood ${flood} (window ${window}), paced ` +
        `${paced} at ${RATE} msg/s, ${rounds} round(s); load ${loadBefore.join(' ')}`,
    );
    for (let round = 0; round < rounds; round++) {
      for (const side of sides) runs.push(await measure(side, client, round));
    }
    const loadAfter = loadavg().map((l) => Number(l.toFixed(2)));
    const summary = summarize(runs);
    const head = ['side', 'deliveries/s', '×single', 'p50 ms', 'p99 ms', '+p50 ms', '+p99 ms'];
    const lines = [[...head, 'CPU % pub / sub / client / redis']];
    for (const [name, s] of Object.entries(summary)) {
      const added = (v: number): string => (name === 'single' ? '-' : fmt(v));
      const cpu = Object.values(s.cpuPercent).map((v) =>
        Number.isNaN(v) ? '-' : String(Math.round(v)),
      );
      const [rate, ratio] = [fmt(s.deliveriesPerSec), `${s.ratioToSingle.toFixed(2)}×`];
      lines.push([name, rate, ratio, fmt(s.p50Ms), fmt(s.p99Ms), added(s.addedP50Ms)]);
      lines[lines.length - 1].push(added(s.addedP99Ms), cpu.join(' / '));
    }
    const widths = lines[0].map((_, i) => Math.max(...lines.map((line) => line[i].length)));
    const pad = (line: string[]): string[] => line.map((c, i) => c.padEnd(widths[i]));
    for (const line of lines) console.log(pad(line).join('  ').trimEnd());
    const offsets = clocks.map(([n, o]) => `${n} ${fmt(o.offsetUs)}±${fmt(o.rttUs / 2)}`);
    console.log(`clock offsets from this process, µs: ${offsets.join(', ')}`);
    console.log(`load after: ${loadAfter.join(' ')}`);
    const report = {
      scenario: 'cross-process',
      description: 'topics in one process against two processes through Redis (pubsub, streams)',
      quick,
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, kernel: release() },
      node: process.version,
      commit: gitCommit(),
      date: new Date().toISOString(),
      load: { before: loadBefore, after: loadAfter },
      parameters: { ...SIZES, rate: RATE, payloadBytes: 100, modes, pinned: false },
      clockOffsetsUs: Object.fromEntries(clocks),
      summary,
      runs,
    };
    if (OUT) {
      mkdirSync(OUT, { recursive: true });
      writeFileSync(join(OUT, 'cross-process.json'), `${JSON.stringify(report, null, 2)}\n`);
    }
  } finally {
    await Promise.all(everyone.map((c) => c.stop()));
    const keys = cli('--scan', '--pattern', `${PREFIX}*`).split('\n').filter(Boolean);
    for (let i = 0; i < keys.length; i += 500) cli('DEL', ...keys.slice(i, i + 500));
  }
}

if (process.env.RXWS_XP_ROLE === 'client') clientProcess();
else
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
