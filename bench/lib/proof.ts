/**
 * What the memory proofs (backpressure.ts, streaming.ts) share: each run is a server process and
 * a client process, pinned to their own cores when `taskset` exists (not in --quick), talking to
 * the orchestrator over IPC; the server samples its RSS and reports the peak over its baseline.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import type { WebSocketServer } from 'ws';
import { upgradeRequest } from './frames';
import { nodeArgs } from './launch';

export const MiB = 1024 * 1024;

/**
 * Bytes each memory proof (backpressure, streaming) moves: 1 GiB, or 16 MiB in the --quick
 * smoke run (still twice the 8 MiB send queue the slow-reader cases overflow).
 */
export function proofTotal(quick: boolean): number {
  return quick ? 16 * MiB : 1024 * MiB;
}

/** What every proof's server reports at the end of a run. */
export interface ProofResult {
  case: string;
  target: string;
  totalBytes: number;
  baselineRss: number;
  peakRssGrowth: number;
  elapsedMs: number;
}

/** One side of a proof: a name in the table, and which server runs it. */
export interface ProofCase {
  name: string;
  target: 'rxws' | 'ws';
}

let taskset: boolean | undefined;

/** Whether `taskset` exists; asked by the orchestrator only (not at every process's start). */
function hasTaskset(): boolean {
  taskset ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  return taskset;
}

/**
 * Starts `entry` (a proof file) as `role`, on `core`, with the spec as its argument. --quick
 * runs several at once and does not pin them: the kernel spreads them over the cores.
 */
export function startRole(
  entry: string,
  role: 'server' | 'client',
  spec: object,
  core: number,
  env: NodeJS.ProcessEnv,
  quick: boolean,
): ChildProcess {
  const argv = [
    process.execPath,
    ...nodeArgs(entry, ['--expose-gc'], quick),
    role,
    JSON.stringify(spec),
  ];
  const stdio: ['ignore', 'inherit', 'inherit', 'ipc'] = ['ignore', 'inherit', 'inherit', 'ipc'];
  return !quick && hasTaskset()
    ? spawn('taskset', ['-c', String(core), ...argv], { stdio, env })
    : spawn(argv[0], argv.slice(1), { stdio, env });
}

/** Resolves with the child's next IPC message of `type`; rejects on its 'error' message or exit. */
export function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { type: string; message?: string }): void => {
      if (m.type !== type && m.type !== 'error') return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (m.type === 'error') reject(new Error(m.message));
      else resolve(m as T);
    };
    const onExit = (code: number | null): void => {
      child.off('message', onMessage);
      reject(new Error(`process exited (${code}) before sending ${type}`));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Runs one proof: starts `entry` as the server (core 0), waits for its port, starts it as the
 * client (core 1), and lets `drive` talk to both. Both are killed when `drive` settles, or
 * after 120 s whatever happens: every run stops by itself.
 */
export async function runProof<T>(
  entry: string,
  spec: object,
  env: NodeJS.ProcessEnv,
  quick: boolean,
  drive: (server: ChildProcess, client: ChildProcess) => Promise<T>,
): Promise<T> {
  const server = startRole(entry, 'server', spec, 0, env, quick);
  let client: ChildProcess | undefined;
  const timer = setTimeout(() => {
    server.kill('SIGKILL');
    client?.kill('SIGKILL');
  }, 120_000);
  try {
    const { port } = await nextMessage<{ port: number }>(server, 'listening');
    client = startRole(entry, 'client', { ...spec, port }, 1, env, quick);
    return await drive(server, client);
  } finally {
    clearTimeout(timer);
    server.kill('SIGKILL');
    client?.kill('SIGKILL');
  }
}

/** Sends an IPC message to the orchestrator. */
export const send = (m: object): void => void process.send?.(m);
export const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

/** Samples RSS every 10 ms from `start()`; `peak` is the highest seen. */
export class RssSampler {
  baseline = 0;
  peak = 0;
  private timer: NodeJS.Timeout | undefined;

  start(): void {
    gc();
    this.baseline = process.memoryUsage.rss();
    this.peak = this.baseline;
    this.timer = setInterval(() => this.sample(), 10);
  }

  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak - this.baseline;
  }
}

/** Runs a proof file's role when it is the process entry (`tsx <file> server|client <json>`). */
export function runRole<S extends { scenario: string }>(
  roles: Record<string, { server(spec: S): Promise<void>; client(spec: S): Promise<void> }>,
): void {
  const [role, json] = process.argv.slice(2);
  const spec = JSON.parse(json) as S;
  roles[spec.scenario][role as 'server' | 'client'](spec).catch((err: Error) => {
    send({ type: 'error', message: err.message });
    process.exit(1);
  });
}

/** rxws as users get it: the `tsc` build in `dist/`. */
export function loadRxws(): typeof import('../../src') {
  return createRequire(__filename)('../../dist') as typeof import('../../src');
}

/** Starts an rxws server and tells the orchestrator its port. */
export async function listenRxws(server: { listen(): Promise<{ port: number }> }): Promise<void> {
  const { port } = await server.listen();
  send({ type: 'listening', port });
}

/** Waits for a ws server to listen and tells the orchestrator its port. */
export async function listenWs(wss: WebSocketServer): Promise<void> {
  await new Promise((r) => wss.once('listening', r));
  send({ type: 'listening', port: (wss.address() as { port: number }).port });
}

/** Opens a raw socket and completes the handshake; what came after the 101 is returned too. */
export async function handshake(port: number): Promise<{ socket: Socket; rest: Buffer }> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.write(upgradeRequest(port));
  let head = Buffer.alloc(0);
  for (;;) {
    const chunk = await new Promise<Buffer>((r) => socket.once('data', r));
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end >= 0) return { socket, rest: head.subarray(end + 4) };
  }
}
