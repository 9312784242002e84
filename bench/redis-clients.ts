/**
 * Which Redis client the `rxws/redis` backplane should build on: node-redis (`redis`) and
 * `ioredis` (also with `enableAutoPipelining`), measured side by side in one run, the sides in
 * alternating order each round, after one unrecorded warm-up round at a tenth of the sizes;
 * medians of the rounds.
 *
 * 1. pub/sub: N binary 100-byte frames PUBLISHed pipelined (at most WINDOW unacknowledged and
 *    at most WINDOW ahead of the subscriber, so Redis never cuts the subscriber off for its
 *    output buffer) until every PUBLISH is acknowledged and every frame has reached a
 *    Buffer-mode subscriber on its own connection: deliveries/s end to end.
 * 2. latency: publish-to-receive p50/p99, one frame at a time, each sent when the last arrived.
 * 3. streams: XADD MAXLEN ~ 10000 pipelined (entries/s); XREAD BLOCK catch-up of a stream of
 *    100,000 entries in batches of 1,000 (entries/s).
 * 4. behaviour, by experiment against a private redis-server on port 6390 that this script
 *    starts, stops and shuts down: a publish while the server is down (offline queue on and
 *    off), reconnect and resubscribe, 'error' with no listener (a child process whose server
 *    goes away); then sharded pub/sub, the RESP version, install footprint, shipped types.
 *
 * Run: npx tsx bench/redis-clients.ts [--quick]
 * Needs Redis at 127.0.0.1:6379 (REDIS_PORT to change), redis-server and redis-cli on PATH.
 * Keys and channels are under `rxws-bench:`, deleted at the end. --quick: tiny sizes, one
 * round, no warm-up; its figures mean nothing.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';
import { median, percentile } from './lib/stats';

const quick = process.argv.includes('--quick');
const [HOST, PORT, PRIVATE] = ['127.0.0.1', Number(process.env.REDIS_PORT ?? 6379), 6390];
const P = 'rxws-bench:';
const [SIZE, MAGIC, WINDOW, MAXLEN, BATCH] = [100, 0xb1, 10_000, 10_000, 1_000];
const N = quick
  ? { pub: 2_000, lat: 200, xadd: 2_000, xread: 5_000, rounds: 1 }
  : { pub: 200_000, lat: 2_000, xadd: 100_000, xread: 100_000, rounds: 5 };
const root = join(__dirname, '..');
const pkgJson = (p: string) =>
  JSON.parse(readFileSync(join(root, 'node_modules', p, 'package.json'), 'utf8'));

/** A binary frame: magic, kind, big-endian sequence number, CR LF NUL 0xff, then filler bytes. */
const pattern = Array.from({ length: SIZE - 10 }, (_, i) => i * 37);
const TEMPLATE = Buffer.from([MAGIC, 0x02, 0, 0, 0, 0, 0x0d, 0x0a, 0x00, 0xff, ...pattern]);
function frame(seq: number): Buffer {
  const b = Buffer.allocUnsafe(SIZE);
  TEMPLATE.copy(b);
  b.writeUInt32BE(seq, 2);
  return b;
}

/** One connection of either client, as the measurements and the experiments use it. */
interface Conn {
  readonly stats: { errors: number; ready: number; lastError: string };
  publish(channel: string, msg: Buffer, sharded?: boolean): Promise<unknown>;
  subscribe(channel: string, onMessage: (msg: Buffer) => void, sharded?: boolean): Promise<unknown>;
  xadd(key: string, msg: Buffer, maxlen: number): Promise<unknown>;
  /** Entries after `id`, payloads as Buffers: how many came, and the last id. */
  xread(key: string, id: string, blockMs: number): Promise<{ n: number; last: string }>;
  command(args: string[]): Promise<unknown>;
  close(): void;
}
type ConnOptions = { port?: number; offlineQueue?: boolean };
interface Side {
  name: string;
  pkg: 'redis' | 'ioredis';
  connect(o?: ConnOptions): Promise<Conn>;
}

function counters(emitter: { on(e: string, l: (e: Error) => void): unknown }): Conn['stats'] {
  const stats = { errors: 0, ready: 0, lastError: '' };
  emitter.on('error', (e) => ((stats.errors += 1), (stats.lastError = e.message || e.name)));
  emitter.on('ready', () => (stats.ready += 1));
  return stats;
}

async function nodeRedis(o: ConnOptions = {}): Promise<Conn> {
  const socket = { host: HOST, port: o.port ?? PORT };
  const c = createClient({ socket, disableOfflineQueue: o.offlineQueue === false });
  const stats = counters(c);
  await c.connect();
  const binary = c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
  const trim = { strategy: 'MAXLEN', strategyModifier: '~' } as const;
  return {
    stats,
    publish: (ch, m, sharded) => (sharded ? c.sPublish(ch, m) : c.publish(ch, m)),
    subscribe: (ch, cb, sh) => (sh ? c.sSubscribe(ch, cb, true) : c.subscribe(ch, cb, true)),
    xadd: (k, m, maxlen) => c.xAdd(k, '*', { d: m }, { TRIM: { ...trim, threshold: maxlen } }),
    async xread(key, id, block) {
      const reply = await binary.xRead({ key, id }, { COUNT: BATCH, BLOCK: block });
      const msgs = (reply as { messages: { id: Buffer }[] }[] | null)?.[0]?.messages ?? [];
      return { n: msgs.length, last: msgs.length ? msgs[msgs.length - 1].id.toString() : id };
    },
    command: (args) => c.sendCommand(args),
    close: () => c.destroy(),
  };
}

async function ioredis(o: ConnOptions = {}, autoPipelining = false): Promise<Conn> {
  const c = new Redis({
    ...{ host: HOST, port: o.port ?? PORT, lazyConnect: true },
    enableOfflineQueue: o.offlineQueue !== false,
    enableAutoPipelining: autoPipelining,
  });
  const stats = counters(c);
  const handlers = new Map<string, (msg: Buffer) => void>();
  const dispatch = (ch: Buffer, m: Buffer) => handlers.get(ch.toString())?.(m);
  c.on('messageBuffer', dispatch).on('smessageBuffer', dispatch);
  await c.connect();
  return {
    stats,
    publish: (ch, m, sharded) => (sharded ? c.spublish(ch, m) : c.publish(ch, m)),
    subscribe: (ch, cb, sh) => (handlers.set(ch, cb), sh ? c.ssubscribe(ch) : c.subscribe(ch)),
    xadd: (k, m, maxlen) => c.xadd(k, 'MAXLEN', '~', maxlen, '*', 'd', m),
    async xread(key, id, block) {
      const reply = await c.xreadBuffer('COUNT', BATCH, 'BLOCK', block, 'STREAMS', key, id);
      const entries = (reply as [Buffer, [Buffer, Buffer[]][]][] | null)?.[0]?.[1] ?? [];
      return { n: entries.length, last: entries.length ? String(entries.at(-1)![0]) : id };
    },
    command: (args) => c.call(args[0], ...args.slice(1)),
    close: () => c.disconnect(),
  };
}

const sides: Side[] = [
  { name: 'node-redis', pkg: 'redis', connect: nodeRedis },
  { name: 'ioredis', pkg: 'ioredis', connect: ioredis },
  { name: 'ioredis autopipe', pkg: 'ioredis', connect: (o) => ioredis(o, true) },
];

/** Issues `n` commands, at most WINDOW unacknowledged (refilled when half are back); `gate` can hold it. */
function pump(n: number, issue: (i: number) => Promise<unknown>, gate = (_sent: number) => true) {
  let [sent, acked] = [0, 0];
  let [resolve, reject]: [() => void, (e: unknown) => void] = [() => {}, () => {}];
  const done = new Promise<void>((res, rej) => ([resolve, reject] = [res, rej]));
  const onAck = () => (++acked === n ? resolve() : fill());
  const fill = () => {
    if (sent - acked > WINDOW / 2 || !gate(sent)) return;
    while (sent < n && sent - acked < WINDOW) issue(sent++).then(onAck, reject);
  };
  fill();
  return { done, fill };
}

/** `p`, or a rejection naming `what` after `ms`: every run ends by itself. */
function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => {
    t = setTimeout(() => rej(new Error(`${what}: no end after ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(t));
}

async function pubsubRate(side: Side, n: number): Promise<number> {
  const ch = `${P}pubsub:${side.name}`;
  const [sub, pub] = [await side.connect(), await side.connect()];
  let [received, altered] = [0, 0];
  let allReceived = () => {};
  const arrived = new Promise<void>((res) => (allReceived = res));
  await sub.subscribe(ch, (m) => {
    if (m.length !== SIZE || m[0] !== MAGIC || m[SIZE - 1] !== TEMPLATE[SIZE - 1]) altered += 1;
    if (++received === n) allReceived();
    else p.fill(); // p is set: nothing arrives before the first publish
  });
  const start = performance.now();
  const ahead = (sent: number) => sent - received < WINDOW;
  const p = pump(n, (i) => pub.publish(ch, frame(i)), ahead);
  await within(120_000, `${side.name} pub/sub`, Promise.all([p.done, arrived]));
  const elapsed = performance.now() - start;
  [sub, pub].forEach((c) => c.close());
  if (altered) throw new Error(`${side.name}: ${altered} frames arrived altered`);
  return (n / elapsed) * 1000;
}

async function latency(side: Side, n: number): Promise<[number, number]> {
  const ch = `${P}latency:${side.name}`;
  const [sub, pub] = [await side.connect(), await side.connect()];
  const [warm, lat] = [Math.ceil(n / 10), new Float64Array(n)];
  let [i, sentAt] = [-warm, 0];
  const run = new Promise<void>((resolve, reject) => {
    const send = () =>
      void ((sentAt = performance.now()), pub.publish(ch, frame(i + warm)).catch(reject));
    const onMessage = () => {
      if (i >= 0) lat[i] = performance.now() - sentAt;
      return ++i === n ? resolve() : send();
    };
    sub.subscribe(ch, onMessage).then(send, reject);
  });
  await within(60_000, `${side.name} latency`, run);
  [sub, pub].forEach((c) => c.close());
  return [percentile(lat, 50) * 1000, percentile(lat, 99) * 1000];
}

async function xaddRate(side: Side, n: number): Promise<number> {
  const [key, c] = [`${P}xadd:${side.name}`, await side.connect()];
  await c.command(['DEL', key]);
  const start = performance.now();
  await within(120_000, `${side.name} xadd`, pump(n, (i) => c.xadd(key, frame(i), MAXLEN)).done);
  const elapsed = performance.now() - start;
  await c.command(['DEL', key]);
  c.close();
  return (n / elapsed) * 1000;
}

async function xreadRate(side: Side, key: string, n: number): Promise<number> {
  const c = await side.connect();
  let [id, got] = ['0', 0];
  const start = performance.now();
  while (got < n) {
    const r = await c.xread(key, id, 1000);
    if (r.n === 0) throw new Error(`${side.name}: XREAD came back empty after ${got}`);
    [got, id] = [got + r.n, r.last];
  }
  const elapsed = performance.now() - start;
  c.close();
  return (n / elapsed) * 1000;
}

const metrics = [
  'pub/sub deliveries/s',
  'latency p50 µs',
  'latency p99 µs',
  'XADD entries/s',
  'XREAD entries/s',
];

async function measure(): Promise<void> {
  const [readKey, filler] = [`${P}xread`, await ioredis()];
  await filler.command(['DEL', readKey]);
  await pump(N.xread, (i) => filler.xadd(readKey, frame(i), N.xread * 2)).done;
  const results = new Map(sides.map((s) => [s.name, metrics.map((): number[] => [])]));
  for (let r = quick ? 1 : 0; r <= N.rounds; r++) {
    const div = r === 0 ? 10 : 1; // round 0 warms up the JIT and is not recorded
    for (const side of r % 2 ? sides : [...sides].reverse()) {
      const [p50, p99] = await latency(side, N.lat / div);
      const rate = await pubsubRate(side, N.pub / div);
      const figures = [rate, p50, p99, await xaddRate(side, N.xadd / div)];
      figures.push(await xreadRate(side, readKey, N.xread / div));
      if (r > 0) figures.forEach((v, m) => results.get(side.name)![m].push(v));
    }
    console.log(`round ${r}${r ? '' : ' (warm-up)'} done, load ${loadavg()[0].toFixed(2)}`);
  }
  await filler.command(['DEL', readKey]);
  filler.close();
  const fmt = (v: number) => Math.round(v).toLocaleString('en-US');
  console.log(`\n| median of ${N.rounds} (min–max) | ${sides.map((s) => s.name).join(' | ')} |`);
  console.log(`| --- | ${sides.map(() => '---').join(' | ')} |`);
  metrics.forEach((m, i) => {
    const cell = (v: number[]) =>
      `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`;
    console.log(`| ${m} | ${sides.map((s) => cell(results.get(s.name)![i])).join(' | ')} |`);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const cli = (...args: string[]) =>
  spawnSync('redis-cli', ['-p', String(PRIVATE), ...args], { encoding: 'utf8' }).stdout.trim();
async function waitFor(cond: () => boolean, ms: number): Promise<number> {
  const t0 = performance.now();
  while (!cond() && performance.now() - t0 < ms) await sleep(10);
  return Math.round(performance.now() - t0);
}
async function startPrivate(): Promise<void> {
  // the same as `redis-server --port 6390 --save "" --appendonly no --daemonize yes`
  execFileSync('redis-server', ['-'], {
    input: `port ${PRIVATE}\nsave ""\nappendonly no\ndaemonize yes`,
  });
  await waitFor(() => cli('ping') === 'PONG', 5000);
}
const stopPrivate = () => cli('shutdown', 'nosave');
function settled(p: Promise<unknown>): () => string {
  let state = 'pending';
  p.then(() => (state = 'resolved')).catch((e: Error) => (state = `rejected: "${e.message}"`));
  return () => state;
}

/** What a publish does while the server is down, and what comes back after it returns. */
async function outage(side: Side): Promise<string[]> {
  const ch = `${P}outage`;
  await startPrivate();
  const [sub, pub] = [await side.connect({ port: PRIVATE }), await side.connect({ port: PRIVATE })];
  const noQueue = await side.connect({ port: PRIVATE, offlineQueue: false });
  const got: number[] = [];
  await sub.subscribe(ch, (m) => got.push(m.readUInt32BE(2)));
  stopPrivate();
  await waitFor(() => pub.stats.errors > 0 && noQueue.stats.errors > 0, 3000);
  const queued = settled(pub.publish(ch, frame(1)));
  const refused = settled(noQueue.publish(ch, frame(2)));
  await sleep(1000);
  const during = queued();
  const errors = [sub, pub].map((c) => `${c.stats.errors} (${c.stats.lastError})`);
  await startPrivate();
  const back = await waitFor(() => sub.stats.ready > 1 && pub.stats.ready > 1, 10_000);
  await waitFor(() => queued() !== 'pending', 2000);
  await sleep(300);
  await pub.publish(ch, frame(3)).catch(() => undefined);
  await waitFor(() => got.includes(3), 2000);
  [sub, pub, noQueue].forEach((c) => c.close());
  stopPrivate();
  return [
    `publish while down, defaults: ${during} after 1 s, then ${queued()} once back`,
    `publish while down, offline queue off: ${refused()}`,
    `'error' events in ~1 s down (sub, pub): ${errors.join(', ')}`,
    `reconnected by itself: ${sub.stats.ready > 1 && pub.stats.ready > 1 ? `yes, ${back} ms after restart` : 'no'}`,
    `resubscribed (a later publish arrived): ${got.includes(3)}; queued publish delivered: ${got.includes(1)} (races the resubscribe)`,
  ];
}

/** A child process with no 'error' listener whose server goes away: does it survive? */
async function noListener(side: Side): Promise<string> {
  const connect = {
    redis: `await require('redis').createClient({ socket: { port: ${PRIVATE} } }).connect();`,
    ioredis: `await new (require('ioredis').default)({ port: ${PRIVATE} }).ping();`,
  }[side.pkg];
  const source = `(async () => { ${connect} console.log('connected');
    require('child_process').execFileSync('redis-cli', ['-p', '${PRIVATE}', 'shutdown', 'nosave']);
    setTimeout(() => { console.log('still alive'); process.exit(0); }, 1500); })();`;
  await startPrivate();
  const options = { cwd: root, encoding: 'utf8', timeout: 10_000 } as const;
  const child = spawnSync(process.execPath, ['-e', source], options);
  stopPrivate();
  const fate = child.stdout.includes('still alive') ? 'still alive 1.5 s later' : 'crashed';
  const stderr = child.stderr.split('\n').find((l) => /error/i.test(l)) ?? '';
  return `no 'error' listener, server gone: exit ${child.status}, ${fate}; stderr: ${stderr.trim().slice(0, 80)}`;
}

/** Packages in `pkg`'s dependency closure, their size on disk, and its types. */
function footprint(pkg: string): string {
  const seen = new Set<string>();
  const walk = (name: string): void => {
    if (seen.has(name)) return;
    seen.add(name);
    Object.keys(pkgJson(name).dependencies ?? {}).forEach(walk);
  };
  walk(pkg);
  const dirs = [...seen].map((d) => join(root, 'node_modules', d));
  const du = execFileSync('du', ['-sck', ...dirs], { encoding: 'utf8' });
  const mib = Number(du.trim().split('\n').at(-1)!.split('\t')[0]) / 1024;
  return `${seen.size} package(s), ${mib.toFixed(1)} MiB (du); types: ${pkgJson(pkg).types ?? 'none'}`;
}

async function behaviour(): Promise<void> {
  for (const side of sides.slice(0, 2)) {
    // the two packages; autopipe is an option of the second
    const facts = [...(await outage(side)), await noListener(side)];
    const [sub, pub] = [await side.connect(), await side.connect()];
    const got: Buffer[] = [];
    const sharded = await sub
      .subscribe(`${P}sharded`, (m) => got.push(m), true)
      .then(() => pub.publish(`${P}sharded`, frame(7), true))
      .then(() => waitFor(() => got.length > 0, 2000))
      .then(() => (got[0]?.readUInt32BE(2) === 7 ? 'works' : 'no message'))
      .catch((e: Error) => `fails: ${e.message}`);
    facts.push(`SSUBSCRIBE/SPUBLISH (Buffer mode): ${sharded}`);
    const info = String(await pub.command(['CLIENT', 'INFO']));
    facts.push(`protocol (CLIENT INFO): ${info.match(/resp=\d/)?.[0]}`);
    [sub, pub].forEach((c) => c.close());
    const pkgs = side.pkg === 'redis' ? ['redis', '@redis/client'] : ['ioredis'];
    pkgs.forEach((pkg) => facts.push(`install ${pkg}: ${footprint(pkg)}`));
    console.log(`\n${side.name}:\n${facts.map((f) => `  - ${f}`).join('\n')}`);
  }
}

async function main(): Promise<void> {
  // prettier-ignore
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const [r, io] = [pkgJson('redis').version, pkgJson('ioredis').version];
  console.log(
    `redis ${r}, ioredis ${io}, Node ${process.version}, ${cpus().length} CPUs, load ${load()}`,
  );
  if (cli('ping') === 'PONG') throw new Error(`port ${PRIVATE} is taken; this script needs it`);
  await measure();
  await behaviour();
  console.log(`\nload at the end: ${load()}`);
}

const guard = setTimeout(() => (console.error('gave up after 15 min'), process.exit(1)), 900_000);
main()
  .catch((e) => ((process.exitCode = 1), console.error(e)))
  .finally(() => (stopPrivate(), clearTimeout(guard)));
