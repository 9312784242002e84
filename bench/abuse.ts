/**
 * What one hostile client can do to a server with default options, rxws next to bare ws. Each
 * run is a server process and a client process (pinned to their own cores when taskset exists).
 *
 * fragment-flood: one client sends one binary message as 1.5 million one-byte fragments (about
 *   10 MiB on the wire); the server echoes whole messages. Reported: the server's peak RSS
 *   growth and how the connection ended.
 * lock-out: one address (127.0.0.1) opens 1,000 TCP sockets and never sends a byte; then a
 *   bystander from another address (127.0.0.2) opens a WebSocket and asks for an echo. Reported:
 *   whether the bystander got its echo within 5 s, and the server's peak RSS growth. rxws runs
 *   with `perAddressExempt: []`: on this machine every client is on loopback, which the default
 *   exempts (where a reverse proxy would be); a client on the internet is limited by default.
 *   It runs once more without the per-address limits, as rxws was before them.
 *
 * Used by run.ts (`npm run bench -- fragment-flood lock-out`); this file is also the process
 * entry for both roles (`tsx bench/abuse.ts server|client <json>`).
 */
import { connect, type Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import {
  handshake,
  listenRxws,
  listenWs,
  loadRxws,
  nextMessage,
  pause,
  RssSampler,
  runProof,
  runRole,
  send,
  type ProofCase,
  type ProofResult,
} from './lib/proof';

export type AbuseScenario = 'fragment-flood' | 'lock-out';

/** One side; `perAddress: false` runs rxws without its per-address limits (as before them). */
interface AbuseCase extends ProofCase {
  perAddress?: boolean;
}

interface RoleSpec {
  scenario: AbuseScenario;
  target: 'rxws' | 'ws';
  perAddress: boolean;
  /** Fragments of the flood, or sockets of the lock-out. */
  count: number;
  port?: number;
}

/** What a run reports. */
export interface AbuseResult extends ProofResult {
  closeCode?: number;
  receivedMessages?: number;
  bystanderIn?: boolean;
}

export const abuseCases: Record<AbuseScenario, AbuseCase[]> = {
  'fragment-flood': [
    { name: 'rxws', target: 'rxws' },
    { name: 'ws', target: 'ws' },
  ],
  'lock-out': [
    { name: 'rxws', target: 'rxws' },
    { name: 'rxws without per-address limits', target: 'rxws', perAddress: false },
    { name: 'ws', target: 'ws' },
  ],
};

/** Runs one case; resolves with the server's report and what the client saw. */
export async function runAbuseCase(
  scenario: AbuseScenario,
  c: AbuseCase,
  quick: boolean,
  env: NodeJS.ProcessEnv,
): Promise<AbuseResult> {
  // --quick: 150,000 fragments (1 MiB on the wire), past rxws's default limit (131,072) still.
  const count = scenario === 'fragment-flood' ? (quick ? 150_000 : 1_500_000) : quick ? 100 : 1_000;
  const spec: RoleSpec = { scenario, target: c.target, perAddress: c.perAddress ?? true, count };
  return runProof(__filename, spec, env, quick, async (server, client) => {
    const seen = await nextMessage<{ closeCode?: number; bystanderIn?: boolean }>(
      client,
      'client-report',
    );
    server.send({ type: 'report' });
    const report = await nextMessage<AbuseResult>(server, 'result');
    return { ...report, ...seen, case: c.name, totalBytes: count };
  });
}

/** An echo server with default options; reports its peak RSS growth when asked. */
async function echoServer(spec: RoleSpec): Promise<void> {
  const sampler = new RssSampler();
  const started = Date.now();
  let received = 0;
  process.on('message', () =>
    send({
      type: 'result',
      target: spec.target,
      baselineRss: sampler.baseline,
      peakRssGrowth: sampler.stop(),
      receivedMessages: received,
      elapsedMs: Date.now() - started,
    }),
  );
  sampler.start();
  if (spec.target === 'rxws') {
    const { createServer } = loadRxws();
    const server = createServer({
      host: '127.0.0.1',
      port: 0,
      logLevel: 0,
      ...(spec.scenario === 'lock-out' ? { perAddressExempt: [] } : {}),
      ...(spec.perAddress
        ? {}
        : { maxConnectionsPerAddress: Infinity, maxHandshakesPerAddress: Infinity }),
    });
    server.errors$.subscribe(() => undefined);
    server.messages$.subscribe((m) => {
      received++;
      m.connection.sink.next(m.data);
    });
    await listenRxws(server);
    return;
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      received++;
      ws.send(data, { binary: isBinary });
    });
  });
  await listenWs(wss);
}

/** One binary message as `count` one-byte fragments, masked with a zero key. */
function flood(count: number): Buffer {
  const out = Buffer.alloc(count * 7);
  for (let i = 0; i < count; i++) {
    out[i * 7] = (i === count - 1 ? 0x80 : 0) | (i === 0 ? 0x02 : 0x00);
    out[i * 7 + 1] = 0x81;
    out[i * 7 + 6] = i & 0xff;
  }
  return out;
}

async function floodClient(spec: RoleSpec): Promise<void> {
  const { socket, rest } = await handshake(spec.port!);
  let received = rest;
  let closeCode: number | undefined;
  const ended = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // The server's first frame: a close (its code) or the echo (binary).
      if (received.length >= 4 && (received[0] & 0x0f) === 0x08)
        closeCode = received.readUInt16BE(2);
      if (received.length >= 2) resolve();
    });
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
  socket.write(flood(spec.count));
  // Bounded: a server that neither echoes nor closes is reported as such after 60 s.
  await Promise.race([ended, pause(60_000)]);
  send({ type: 'client-report', closeCode });
  socket.destroy();
}

/** Opens `count` silent sockets from 127.0.0.1, then tries a bystander from 127.0.0.2. */
async function lockOutClient(spec: RoleSpec): Promise<void> {
  const silent: Socket[] = [];
  const settled: Array<Promise<void>> = [];
  for (let i = 0; i < spec.count; i++) {
    const socket = connect({ port: spec.port!, host: '127.0.0.1', localAddress: '127.0.0.1' });
    socket.on('error', () => undefined);
    silent.push(socket);
    // Connected (past the kernel's backlog, which may take SYN retries) or refused.
    settled.push(
      new Promise<void>((r) => {
        socket.once('connect', () => r());
        socket.once('close', () => r());
      }),
    );
  }
  await Promise.race([Promise.all(settled), pause(20_000)]);
  // Time for the server to accept (or refuse) what the kernel has queued.
  await pause(500);
  const bystanderIn = await new Promise<boolean>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${spec.port}`, { localAddress: '127.0.0.2' });
    const timer = setTimeout(() => {
      ws.terminate();
      resolve(false);
    }, 5000);
    ws.on('error', () => undefined);
    ws.on('open', () => ws.send('hello'));
    ws.on('message', () => {
      clearTimeout(timer);
      ws.close();
      resolve(true);
    });
    ws.on('close', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  send({ type: 'client-report', bystanderIn });
  for (const s of silent) s.destroy();
}

if (require.main === module) {
  runRole<RoleSpec>({
    'fragment-flood': { server: echoServer, client: floodClient },
    'lock-out': { server: echoServer, client: lockOutClient },
  });
}
