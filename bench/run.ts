/**
 * Side-by-side benchmarks: rxws against bare ws (and raw net, uWebSockets.js where they mean
 * something), in alternating runs, each server and load client in its own process pinned to its
 * own core.
 *
 *   npm run bench                       every scenario
 *   npm run bench -- echo-small connect some of them
 *   npm run bench -- --quick            seconds-long smoke version (npm test runs it): tiny
 *                                       sizes, rxws and ws only, runs overlapped, no figure to keep
 *   npm run bench -- --runs 7 --targets rxws,ws --no-native --out /tmp/results
 *   npm run bench -- echo-small --case ping-pong --targets rxws --prof /tmp/prof   (CPU profiles)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import type {
  BenchTls,
  ClientMetrics,
  ClientSpec,
  FanOutVia,
  FromClient,
  FromServer,
  ScenarioName,
  ServerSpec,
  Target,
  ToServer,
  Workload,
} from './lib/protocol';
import { makeBenchCerts } from './lib/certs';
import { loadUws } from './lib/uws';
import { backpressureCases, runBackpressureCase, type BackpressureResult } from './backpressure';
import { runStreamingCase, streamingCases, type StreamingResult } from './streaming';
import { abuseCases, runAbuseCase, type AbuseResult } from './abuse';
import { compileForQuick, nodeArgs } from './lib/launch';
import { proofTotal, type ProofCase } from './lib/proof';
import { max, median, min } from './lib/stats';

interface Case {
  name: string;
  connections: number;
  window: number;
  payload: number;
  binary: boolean;
  hook: boolean;
  concurrency: number;
  rounds: number;
  /** wss: what the case's load does; its figure and unit when not the scenario's. */
  workload?: Workload;
  /** fan-out: rxws sends with `server.publish()` to a topic rather than `server.broadcast()`. */
  publish?: FanOutVia;
  /** fan-out: the clients offer permessage-deflate; each server answers with its usual setting. */
  deflate?: boolean;
  metric?: string;
  unit?: string;
}

interface Scenario {
  description: string;
  targets: Target[];
  cases: Case[];
  /** The figure compared across targets, and whether more is better. */
  metric: string;
  unit: string;
  higherIsBetter: boolean;
}

const base: Case = {
  name: '',
  connections: 1,
  window: 1,
  payload: 64,
  binary: false,
  hook: false,
  concurrency: 1,
  rounds: 1,
};

function scenarios(quick: boolean): Record<ScenarioName, Scenario> {
  const q = <T>(full: T, small: T): T => (quick ? small : full);
  return {
    'echo-small': {
      description:
        '64-byte text messages echoed, pipelined (10 in flight per connection) and ping-pong',
      targets: ['rxws', 'ws', 'net', 'uws'],
      cases: [
        { ...base, name: 'pipelined', connections: q(100, 10), window: 10 },
        { ...base, name: 'ping-pong', connections: q(100, 10), window: 1 },
      ],
      metric: 'messagesPerSec',
      unit: 'msg/s',
      higherIsBetter: true,
    },
    'echo-large': {
      description: 'binary messages echoed by 10 connections',
      targets: ['rxws', 'ws', 'net', 'uws'],
      cases: [
        { ...base, name: '64KiB', connections: q(10, 2), payload: 64 * 1024, binary: true },
        {
          ...base,
          name: '1MiB',
          connections: q(10, 2),
          payload: q(1024 * 1024, 128 * 1024),
          binary: true,
        },
      ],
      metric: 'megabytesPerSec',
      unit: 'MB/s',
      higherIsBetter: true,
    },
    'fan-out': {
      description:
        'one message sent to every connection, round after round: 64-byte text by broadcast() and by publish() to a topic all connections are in; 4 KiB JSON-like text by publish() with permessage-deflate',
      targets: ['rxws', 'ws', 'net', 'uws'],
      cases: [
        { ...base, name: q('1000', '50'), connections: q(1000, 50), rounds: q(20, 2) },
        ...(quick ? [] : [{ ...base, name: '10000', connections: 10000, rounds: 10 }]),
        {
          ...base,
          name: q('publish 1000', 'publish 50'),
          connections: q(1000, 50),
          rounds: q(20, 2),
          publish: 'topic',
        },
        {
          ...base,
          name: q('deflate 1000', 'deflate 50'),
          connections: q(1000, 50),
          rounds: q(20, 2),
          payload: 4096,
          publish: 'topic',
          deflate: true,
        },
      ],
      metric: 'deliveriesPerSec',
      unit: 'deliveries/s',
      higherIsBetter: true,
    },
    connect: {
      description:
        'connections opened (handshake) and closed (close handshake) per second, 20 at a time',
      targets: ['rxws', 'ws', 'uws'],
      cases: [
        { ...base, name: 'no hook', concurrency: q(20, 2) },
        { ...base, name: 'open-request hook', concurrency: q(20, 2), hook: true },
      ],
      metric: 'connectsPerSec',
      unit: 'conn/s',
      higherIsBetter: true,
    },
    'idle-memory': {
      description: 'idle connections held open: memory per connection',
      targets: ['rxws', 'ws', 'uws'],
      cases: [{ ...base, name: q('10000', '100'), connections: q(10000, 100) }],
      metric: 'rssPerConnection',
      unit: 'B/conn (RSS)',
      higherIsBetter: false,
    },
    wss: {
      description:
        'over TLS 1.3 (TLS_AES_128_GCM_SHA256, X25519, ECDSA P-256 certificate): 64-byte text echoed pipelined (10 in flight) and ping-pong; connections opened and closed per second, 20 at a time, each a full TLS handshake',
      targets: ['rxws', 'ws'],
      cases: [
        { ...base, name: 'pipelined', workload: 'echo', connections: q(100, 10), window: 10 },
        { ...base, name: 'ping-pong', workload: 'echo', connections: q(100, 10), window: 1 },
        {
          ...base,
          name: 'connect',
          workload: 'connect',
          concurrency: q(20, 2),
          metric: 'connectsPerSec',
          unit: 'conn/s',
        },
      ],
      metric: 'messagesPerSec',
      unit: 'msg/s',
      higherIsBetter: true,
    },
  };
}

interface RunResult {
  target: Target;
  round: number;
  ok: boolean;
  error?: string;
  figures: Record<string, number>;
  serverCpuPercent?: number;
  clientCpuPercent?: number;
  /** wss: what the client saw negotiated. */
  negotiated?: ClientMetrics['negotiated'];
}

const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const option = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const quick = flag('--quick');
const native = !flag('--no-native');
const runs = Number(option('--runs') ?? (quick ? 1 : 5));
const outDir = option('--out') ?? join(__dirname, 'results');
// --quick: rxws and ws unless asked (what npm test checks; net and uws would add 13 runs to 38).
const onlyTargets = (option('--targets')?.split(',') ?? (quick ? ['rxws', 'ws'] : undefined)) as
  Target[] | undefined;
const profileDir = option('--prof');
const onlyCase = option('--case');
const all = scenarios(quick);
const optionValues = new Set([
  option('--runs'),
  option('--out'),
  option('--targets'),
  profileDir,
  onlyCase,
]);
const chosen = args.filter((a) => !a.startsWith('--') && !optionValues.has(a));
/** The memory proofs: a server and a client process per run, peak server RSS growth. */
type ProofRun = (
  c: ProofCase,
  quick: boolean,
  env: NodeJS.ProcessEnv,
) => Promise<BackpressureResult | StreamingResult>;
const proofs: Record<string, { cases: ProofCase[]; run: ProofRun }> = {};
for (const [name, cases] of Object.entries(backpressureCases)) {
  proofs[name] = {
    cases,
    run: (c, q, env) => runBackpressureCase(name as keyof typeof backpressureCases, c, q, env),
  };
}
for (const [name, cases] of Object.entries(abuseCases)) {
  proofs[name] = {
    cases,
    run: (c, q, env) => runAbuseCase(name as keyof typeof abuseCases, c, q, env),
  };
}
for (const [name, cases] of Object.entries(streamingCases)) {
  proofs[name] = {
    cases,
    run: (c, q, env) => runStreamingCase(name as keyof typeof streamingCases, c, q, env),
  };
}
const names = [...Object.keys(all), ...Object.keys(proofs)];
for (const name of chosen) {
  if (!names.includes(name)) {
    console.error(`unknown scenario "${name}"; choose from ${names.join(', ')}`);
    process.exit(2);
  }
}
const selected = chosen.length ? chosen : names;
const warmupMs = quick ? 20 : 1000;
const measureMs = quick ? 100 : 3000;
// A bound that stops a run that hangs, not a speed: generous, since --quick runs inside
// `npm test`, beside other work on a loaded machine.
const runTimeoutMs = quick ? 90_000 : 120_000;
/**
 * Server/client process pairs at once: one in the full run, in order; --quick overlaps its
 * scenarios, cases and runs (it proves that each runs, never how fast), this many at a time.
 */
const parallel = quick ? 4 : 1;
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
/** Server on core 0, client on core 1; --quick runs several at once and lets the kernel spread them. */
const pinned = hasTaskset && !quick;
const uws = loadUws();
/** wss: certificates made once per bench run (started in main()), removed when it exits. */
let certsReady: Promise<BenchTls> | undefined;
let benchTls: BenchTls | undefined;

function startProcess(
  file: string,
  argv: string[],
  core: number,
  extra: string[] = [],
): ChildProcess {
  const node = [process.execPath, ...nodeArgs(join(__dirname, file), extra, quick), ...argv];
  const env = {
    ...process.env,
    ...(native ? {} : { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }),
  };
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  return pinned
    ? spawn('taskset', ['-c', String(core), ...node], { stdio, env })
    : spawn(node[0], node.slice(1), { stdio, env });
}

function next<T extends { type: string }>(child: ChildProcess, ...types: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: T): void => {
      if (!types.includes(m.type) && m.type !== 'error') return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (m.type === 'error') reject(new Error((m as unknown as { message: string }).message));
      else resolve(m);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`process exited (${code}) before sending ${types.join('/')}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

let running = 0;
const waiting: Array<() => void> = [];

/** Runs `task` once fewer than `parallel` tasks hold a slot (--quick). */
async function slot<T>(task: () => Promise<T>): Promise<T> {
  if (running < parallel) running++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await task();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

/**
 * The full run: `tasks` one after another, in order. --quick: all at once, those that start
 * processes (`runs`) `parallel` at a time. The results come back in order either way.
 */
async function inTurn<T>(tasks: Array<() => Promise<T>>, runs = false): Promise<T[]> {
  if (quick) return Promise.all(tasks.map((t) => (runs ? slot(t) : t())));
  const results: T[] = [];
  for (const t of tasks) results.push(await t());
  return results;
}

let nativeSeen: { bufferutil: boolean; utf8Validate: boolean } | undefined;

async function runOnce(
  scenario: ScenarioName,
  c: Case,
  target: Target,
  round: number,
): Promise<RunResult> {
  const tls = scenario === 'wss' ? benchTls : undefined;
  const serverSpec: ServerSpec = {
    target,
    scenario,
    payload: c.payload,
    hook: c.hook,
    ...(c.workload ? { workload: c.workload } : {}),
    ...(tls ? { tls } : {}),
    ...(c.publish ? { publish: c.publish } : {}),
    ...(c.deflate ? { deflate: true } : {}),
  };
  const profile = profileDir
    ? [
        '--cpu-prof',
        '--cpu-prof-dir',
        join(profileDir, `${scenario}-${c.name}-${target}-${round}`.replace(/ /g, '_')),
      ]
    : [];
  const server = startProcess('server-process.ts', [JSON.stringify(serverSpec)], 0, [
    '--expose-gc',
    ...profile,
  ]);
  let client: ChildProcess | undefined;
  const timer = setTimeout(() => {
    server.kill('SIGKILL');
    client?.kill('SIGKILL');
  }, runTimeoutMs);
  try {
    const ready = await next<Extract<FromServer, { type: 'ready' }>>(server, 'ready');
    nativeSeen ??= ready.native;
    const toServer = (m: ToServer): void => void server.send(m);
    const spec: ClientSpec = {
      scenario,
      port: ready.port,
      connections: c.connections,
      window: c.window,
      payload: c.payload,
      binary: c.binary,
      warmupMs,
      measureMs,
      concurrency: c.concurrency,
      ...(quick ? { minCount: 1 } : {}),
      ...(c.workload ? { workload: c.workload } : {}),
      ...(tls ? { tls } : {}),
      ...(c.deflate ? { deflate: true } : {}),
    };
    const figures: Record<string, number> = {};
    let serverCpu: number | undefined;
    let baseline: Extract<FromServer, { type: 'memory' }> | undefined;
    if (scenario === 'idle-memory') {
      toServer({ type: 'memory' });
      baseline = await next(server, 'memory');
    }
    client = startProcess('client-process.ts', [], 1);
    client.send({ type: 'run', spec });
    const clientMessages = client;
    let metrics: ClientMetrics;

    if (scenario === 'fan-out' || scenario === 'idle-memory') {
      await next<FromClient>(clientMessages, 'open');
      if (scenario === 'fan-out') {
        toServer({ type: 'mark' });
        const latencies: number[] = [];
        let delivered = 0;
        const started = performance.timeOrigin + performance.now();
        let lastAt = started;
        for (let r = 0; r < c.rounds; r++) {
          const roundDone = next<Extract<FromClient, { type: 'round' }>>(clientMessages, 'round');
          toServer({ type: 'publish' });
          const published = await next<Extract<FromServer, { type: 'published' }>>(
            server,
            'published',
          );
          const got = await roundDone;
          latencies.push(got.last - published.at);
          delivered += got.received;
          lastAt = got.last;
        }
        toServer({ type: 'report' });
        serverCpu = (await next<Extract<FromServer, { type: 'report' }>>(server, 'report')).cpu
          .cpuPercent;
        figures.deliveriesPerSec = delivered / ((lastAt - started) / 1000);
        figures.lastDeliveryMs = median(latencies);
      } else {
        toServer({ type: 'memory' });
        const after = (await next<Extract<FromServer, { type: 'memory' }>>(server, 'memory'))
          .memory;
        const n = after.connections || c.connections;
        figures.rssPerConnection = (after.rss - baseline!.memory.rss) / n;
        figures.heapPerConnection = (after.heapUsed - baseline!.memory.heapUsed) / n;
        figures.connections = after.connections;
      }
      clientMessages.send({ type: 'stop' });
      metrics = (await next<Extract<FromClient, { type: 'result' }>>(clientMessages, 'result'))
        .metrics;
    } else {
      await next<FromClient>(clientMessages, 'measuring');
      toServer({ type: 'mark' });
      metrics = (await next<Extract<FromClient, { type: 'result' }>>(clientMessages, 'result'))
        .metrics;
      toServer({ type: 'report' });
      serverCpu = (await next<Extract<FromServer, { type: 'report' }>>(server, 'report')).cpu
        .cpuPercent;
    }
    for (const [k, v] of Object.entries(metrics)) if (typeof v === 'number') figures[k] = v;
    return {
      target,
      round,
      ok: true,
      figures,
      serverCpuPercent: serverCpu,
      clientCpuPercent: metrics.cpu.cpuPercent,
      ...(metrics.negotiated ? { negotiated: metrics.negotiated } : {}),
    };
  } catch (err) {
    return { target, round, ok: false, error: (err as Error).message, figures: {} };
  } finally {
    clearTimeout(timer);
    if (profileDir && server.connected) {
      // A profile is written only on a clean exit.
      server.send({ type: 'stop' });
      await new Promise((r) => setTimeout(r, 2000));
    }
    server.kill('SIGKILL');
    client?.kill('SIGKILL');
  }
}

function gitCommit(): string {
  const r = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], {
    encoding: 'utf8',
  }).stdout.trim();
  return r.status === 0 ? `${r.stdout.trim()}${dirty ? '+dirty' : ''}` : 'unknown';
}

const fmt = (v: number): string =>
  !Number.isFinite(v)
    ? '-'
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : v.toFixed(2);

function summarize(
  metric: string,
  unit: string,
  results: RunResult[],
  targets: Target[],
): { summary: Record<string, unknown>; table: string } {
  const lines: string[] = [];
  const summary: Record<string, unknown> = {};
  const ok = (t: Target) => results.filter((r) => r.target === t && r.ok);
  const header = [
    'target',
    `median ${unit}`,
    'min',
    'max',
    'p50 ms',
    'p99 ms',
    'server CPU%',
    'client CPU%',
    'rxws/this',
  ];
  lines.push(header.join(' | '));
  const rx = ok('rxws');
  for (const t of targets) {
    const rs = ok(t);
    const failed = results.filter((r) => r.target === t && !r.ok);
    if (rs.length === 0) {
      lines.push(`${t} | failed: ${failed[0]?.error ?? 'no run'}`);
      continue;
    }
    const values = rs.map((r) => r.figures[metric]);
    // Paired ratio: rxws run i against this target's run i, then the median of the ratios.
    const ratios = rs
      .map((r) => {
        const mate = rx.find((x) => x.round === r.round);
        return mate ? mate.figures[metric] / r.figures[metric] : NaN;
      })
      .filter(Number.isFinite);
    const row = {
      median: median(values),
      min: min(values),
      max: max(values),
      p50Ms: median(rs.map((r) => r.figures.p50Ms ?? NaN).filter(Number.isFinite)),
      p99Ms: median(rs.map((r) => r.figures.p99Ms ?? NaN).filter(Number.isFinite)),
      serverCpuPercent: median(rs.map((r) => r.serverCpuPercent ?? NaN).filter(Number.isFinite)),
      clientCpuPercent: median(rs.map((r) => r.clientCpuPercent ?? NaN).filter(Number.isFinite)),
      rxwsRatio: median(ratios),
      runs: rs.length,
      failures: failed.length,
      ...(rs[0].negotiated
        ? {
            negotiated: {
              protocol: rs[0].negotiated.protocol,
              cipher: rs[0].negotiated.cipher,
              resumed: rs.reduce((n, r) => n + (r.negotiated?.resumed ?? 0), 0),
            },
          }
        : {}),
    };
    summary[t] = row;
    lines.push(
      [
        t,
        fmt(row.median),
        fmt(row.min),
        fmt(row.max),
        fmt(row.p50Ms),
        fmt(row.p99Ms),
        fmt(row.serverCpuPercent),
        fmt(row.clientCpuPercent),
        t === 'rxws' ? '' : `${fmt(row.rxwsRatio)}x`,
      ].join(' | '),
    );
  }
  return { summary, table: lines.map((l) => `  ${l}`).join('\n') };
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  if (quick) {
    // No tsc: bench/ and src/ compiled to a temporary directory (see lib/launch.ts).
    compileForQuick();
  } else {
    // The server processes load rxws from dist/, as users do: build it from the current sources.
    const build = spawnSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', join(__dirname, '..', 'tsconfig.build.json')],
      { stdio: 'inherit' },
    );
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  console.log(
    `rxws benchmarks${quick ? ' (quick)' : ''}: ${runs} run(s) per side, alternating; node ${process.version}; ` +
      (pinned
        ? 'server on core 0, client on core 1'
        : quick
          ? `${parallel} runs at once, processes not pinned`
          : 'taskset not available: processes not pinned'),
  );
  if (!uws.ok) console.log(`uWebSockets.js skipped: ${uws.reason}`);
  if (selected.includes('wss')) {
    certsReady = makeBenchCerts().then((certs) => {
      process.on('exit', certs.remove);
      return certs;
    });
    // Reported by the wss scenario when it starts, not as an unhandled rejection before it.
    certsReady.catch(() => undefined);
  }
  const run = (name: string, log: (text: string) => void): Promise<void> =>
    name in proofs ? runMemoryProof(name, log) : runScenario(name as ScenarioName, log);
  if (!quick) {
    for (const name of selected) await run(name, console.log);
    return;
  }
  // Everything at once, the proofs first: they mostly wait (on slow readers, close timeouts)
  // while the scenarios keep the CPU busy. Each one's lines are printed together, in order.
  const started = new Map<string, { lines: string[]; finished: Promise<void> }>();
  for (const name of [...selected].sort((a, b) => Number(b in proofs) - Number(a in proofs))) {
    const lines: string[] = [];
    started.set(name, { lines, finished: run(name, (text) => void lines.push(text)) });
  }
  let printed = Promise.resolve();
  for (const name of selected) {
    const { lines, finished } = started.get(name)!;
    printed = printed.then(() => finished).then(() => console.log(lines.join('\n')));
  }
  const done = [...started.values()].map((s) => s.finished);
  // Every run stops by itself: after a failure, the others end before it is reported.
  printed.catch(() => undefined);
  await Promise.allSettled(done);
  await Promise.all([...done, printed]);
}

async function runScenario(name: ScenarioName, log: (text: string) => void): Promise<void> {
  const scenario = all[name];
  if (name === 'wss') benchTls = await certsReady;
  const targets = scenario.targets.filter(
    (t) => (t !== 'uws' || uws.ok) && (!onlyTargets || onlyTargets.includes(t)),
  );
  const report: Record<string, unknown> = {
    scenario: name,
    description: scenario.description,
    quick,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryBytes: totalmem(),
      kernel: release(),
      pinned,
    },
    node: process.version,
    commit: gitCommit(),
    date: new Date().toISOString(),
    parameters: { runs, warmupMs, measureMs, targets },
    ...(name === 'wss' && benchTls
      ? {
          tls: {
            minVersion: benchTls.minVersion,
            maxVersion: benchTls.maxVersion,
            ciphers: benchTls.ciphers,
            groups: benchTls.groups,
            certificate: 'ECDSA P-256, signed by a CA made at bench time (openssl)',
            clientSessionResumption: false,
          },
        }
      : {}),
    uws: uws.ok ? uws.version : `skipped: ${uws.reason}`,
    cases: [] as unknown[],
  };
  const cases = scenario.cases.filter((x) => !onlyCase || x.name === onlyCase);
  const done = await inTurn(
    cases.map((c) => async () => {
      const title = `\n${name} / ${c.name}: ${scenario.description}`;
      if (!quick) log(title);
      // One unrecorded warm-up round, then measured rounds; each round runs every target (A B A B ...).
      const rounds: Array<() => Promise<RunResult>> = [];
      for (let round = quick ? 1 : 0; round <= runs; round++) {
        for (const t of targets) rounds.push(() => runOnce(name, c, t, round));
      }
      const results = (await inTurn(rounds, true)).filter((r) => r.round > 0);
      const { summary, table } = summarize(
        c.metric ?? scenario.metric,
        c.unit ?? scenario.unit,
        results,
        targets,
      );
      if (!quick) log(table);
      return { title, table, summary, results };
    }),
  );
  for (const [i, { title, table, summary, results }] of done.entries()) {
    if (quick) log(`${title}\n${table}`);
    (report.cases as unknown[]).push({
      case: cases[i],
      metric: cases[i].metric ?? scenario.metric,
      unit: cases[i].unit ?? scenario.unit,
      summary,
      runs: results,
    });
  }
  report.native = nativeSeen;
  log(
    `  bufferutil: ${nativeSeen?.bufferutil ? 'loaded' : 'not loaded'}, utf-8-validate: ${nativeSeen?.utf8Validate ? 'loaded' : 'not loaded'}`,
  );
  const file = join(outDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  log(`  written to ${file}`);
}

const MiB = 1024 * 1024;
const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

/** A memory proof: each case `runs` times; peak RSS growth (and throughput), median and max. */
async function runMemoryProof(name: string, log: (text: string) => void): Promise<void> {
  const proof = proofs[name];
  const cases = proof.cases.filter((c) => !onlyTargets || onlyTargets.includes(c.target));
  log(`\n${name}: peak server RSS growth (MiB) over ${runs} run(s) per case`);
  const env = {
    ...process.env,
    ...(native ? {} : { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' }),
  };
  type Outcome = { result: BackpressureResult & Partial<StreamingResult> & Partial<AbuseResult> };
  const tasks: Array<() => Promise<Outcome | { failure: string }>> = [];
  for (let round = 1; round <= runs; round++) {
    for (const c of cases) {
      tasks.push(() =>
        proof.run(c, quick, env).then(
          (result) => ({ result }),
          (err: Error) => ({ failure: `${c.name}: ${err.message}` }),
        ),
      );
    }
  }
  const outcomes = await inTurn(tasks, true);
  const results = outcomes.flatMap((o) => ('result' in o ? [o.result] : []));
  const failures = outcomes.flatMap((o) => ('failure' in o ? [o.failure] : []));
  const summary: Record<string, unknown> = {};
  for (const c of cases) {
    const rs = results.filter((r) => r.case === c.name);
    if (rs.length === 0) {
      log(`  ${c.name} | failed: ${failures.find((f) => f.startsWith(c.name)) ?? '?'}`);
      continue;
    }
    const growth = rs.map((r) => r.peakRssGrowth);
    const last = rs[rs.length - 1];
    const speeds = rs.flatMap((r) => (r.megabytesPerSec === undefined ? [] : [r.megabytesPerSec]));
    const row = {
      medianGrowthMiB: Number(mib(median(growth))),
      maxGrowthMiB: Number(mib(max(growth))),
      medianMBps: speeds.length ? Math.round(median(speeds)) : undefined,
      minMBps: speeds.length ? Math.round(min(speeds)) : undefined,
      maxMBps: speeds.length ? Math.round(max(speeds)) : undefined,
      boundMiB: last.bound === undefined ? undefined : Number(mib(last.bound)),
      withinBound: last.bound === undefined ? undefined : max(growth) < last.bound,
      pushedMessages: last.pushedMessages,
      sentMessages: last.sentMessages,
      drops: last.drops,
      closeCode: last.closeCode,
      bystanderIn: last.bystanderIn,
      receivedMessages: last.receivedMessages,
      handledMessages: last.handledMessages,
      timesPaused: last.timesPaused,
      clientBufferedMiB:
        last.clientBufferedAmount === undefined
          ? undefined
          : Number(mib(last.clientBufferedAmount)),
    };
    summary[c.name] = row;
    const details = Object.entries(row)
      .filter(([k, v]) => v !== undefined && !k.endsWith('GrowthMiB'))
      .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(', ');
    log(
      `  ${c.name} | median ${row.medianGrowthMiB} MiB, max ${row.maxGrowthMiB} MiB | ${details}`,
    );
  }
  const file = join(outDir, `${name}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        scenario: name,
        quick,
        node: process.version,
        commit: gitCommit(),
        date: new Date().toISOString(),
        parameters: { runs, totalBytes: proofTotal(quick) },
        summary,
        failures,
        runs: results,
      },
      null,
      2,
    )}\n`,
  );
  log(`  written to ${file}`);
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
