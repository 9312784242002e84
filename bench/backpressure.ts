/**
 * Memory proofs for backpressure, next to bare ws doing the same naive thing. Each run is a
 * server process and a client process (pinned to their own cores when taskset exists); the
 * server samples its RSS every 10 ms and reports the peak over its baseline.
 *
 * slow-reader: the app pushes `total` bytes (64 KiB messages, each a fresh Buffer, as an app
 *   producing data makes them) through `conn.sink` at a client that reads 1 KiB/s; rxws once
 *   per overflow policy (maxQueue 8 MiB), bare ws with `ws.send()` in the same loop.
 * slow-consumer: a ws client sends `total` bytes (64 KiB messages) as fast as it can to an app
 *   that handles 10 messages/s; rxws through `flowControl(conn, ..., { highWaterMark: 16 })`,
 *   bare ws with the naive `ws.on('message')` handler queueing the work.
 *
 * Used by run.ts (`npm run bench -- slow-reader slow-consumer`); this file is also the process
 * entry for both roles (`tsx bench/backpressure.ts server|client <json>`).
 */
import WebSocket, { WebSocketServer } from 'ws';
import {
  MiB,
  handshake,
  listenRxws,
  listenWs,
  loadRxws,
  RssSampler,
  runProof,
  nextMessage,
  gc,
  pause,
  proofTotal,
  runRole,
  send,
  type ProofCase,
  type ProofResult,
} from './lib/proof';

const CHUNK = 64 * 1024;

export type BackpressureScenario = 'slow-reader' | 'slow-consumer';

/** One side of a memory proof. */
export interface BackpressureCase extends ProofCase {
  overflow?: 'drop-newest' | 'drop-oldest' | 'close' | 'error';
}

interface RoleSpec {
  scenario: BackpressureScenario;
  target: 'rxws' | 'ws';
  overflow?: string;
  total: number;
  durationMs: number;
  port?: number;
}

/** What a server reports at the end of a run. */
export interface BackpressureResult extends ProofResult {
  overflow?: string;
  /** The bound the issue holds rxws to: maxQueue.bytes + 8 MiB (slow-reader only). */
  bound?: number;
  pushedMessages?: number;
  sentMessages?: number;
  drops?: Record<string, number>;
  closeCode?: number;
  receivedMessages?: number;
  handledMessages?: number;
  timesPaused?: number;
  clientBufferedAmount?: number;
}

export const backpressureCases: Record<BackpressureScenario, BackpressureCase[]> = {
  'slow-reader': [
    { name: 'rxws error', target: 'rxws', overflow: 'error' },
    { name: 'rxws drop-newest', target: 'rxws', overflow: 'drop-newest' },
    { name: 'rxws drop-oldest', target: 'rxws', overflow: 'drop-oldest' },
    { name: 'rxws close', target: 'rxws', overflow: 'close' },
    { name: 'ws naive send loop', target: 'ws' },
  ],
  'slow-consumer': [
    { name: 'rxws flowControl', target: 'rxws' },
    { name: 'ws naive handler', target: 'ws' },
  ],
};

// ---------------------------------------------------------------------------------------------
// Orchestration (called by run.ts)

/** Runs one case: a server process and a client process; resolves with the server's report. */
export async function runBackpressureCase(
  scenario: BackpressureScenario,
  c: BackpressureCase,
  quick: boolean,
  env: NodeJS.ProcessEnv,
): Promise<BackpressureResult> {
  const spec: RoleSpec = {
    scenario,
    target: c.target,
    overflow: c.overflow,
    total: proofTotal(quick),
    // --quick: the slow-consumer client must still be done sending (and listen for 'report').
    durationMs: quick ? 500 : 5000,
  };
  return runProof(__filename, spec, env, quick, async (server, client) => {
    const report = await nextMessage<BackpressureResult>(server, 'result');
    const clientReport = nextMessage<{ bufferedAmount?: number }>(client, 'client-report');
    client.send({ type: 'report' });
    const { bufferedAmount } = await clientReport;
    return { ...report, case: c.name, clientBufferedAmount: bufferedAmount };
  });
}

// ---------------------------------------------------------------------------------------------
// The processes

/**
 * A fresh 64 KiB message, as an app producing data makes it. Every 32 messages (2 MiB) the
 * producer collects its garbage (both targets alike), so that peak RSS shows what the server
 * retains rather than dropped buffers V8 has not collected yet.
 */
function chunk(i: number): Buffer {
  if (i % 32 === 31) gc();
  return Buffer.allocUnsafe(CHUNK).fill(i & 0xff);
}

async function slowReaderServer(spec: RoleSpec): Promise<void> {
  const messages = spec.total / CHUNK;
  const sampler = new RssSampler();
  const started = Date.now();
  if (spec.target === 'rxws') {
    const { createServer } = loadRxws();
    const server = createServer({
      host: '127.0.0.1',
      port: 0,
      logLevel: 0,
      overflow: spec.overflow as 'error',
      maxQueue: { bytes: 8 * MiB },
    });
    server.errors$.subscribe(() => undefined);
    server.connections$.subscribe((conn) => {
      void (async () => {
        sampler.start();
        let pushed = 0;
        // The app's loop: push everything, letting the event loop run every 16 messages.
        for (let i = 0; i < messages && conn.connected; i++) {
          conn.sink.next(chunk(i));
          pushed++;
          if (i % 16 === 15) await pause(0);
        }
        await pause(spec.durationMs);
        const growth = sampler.stop();
        const stats = conn.stats;
        const closed = conn.connected ? undefined : await conn.disconnect();
        send({
          type: 'result',
          target: 'rxws',
          overflow: spec.overflow,
          totalBytes: spec.total,
          baselineRss: sampler.baseline,
          peakRssGrowth: growth,
          bound: 16 * MiB,
          pushedMessages: pushed,
          sentMessages: stats.messagesOut,
          drops: stats.drops,
          closeCode: closed?.code,
          elapsedMs: Date.now() - started,
        });
      })();
    });
    await listenRxws(server);
    return;
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    void (async () => {
      sampler.start();
      let pushed = 0;
      for (let i = 0; i < messages; i++) {
        ws.send(chunk(i));
        pushed++;
        if (i % 16 === 15) await pause(0);
      }
      await pause(spec.durationMs);
      send({
        type: 'result',
        target: 'ws',
        totalBytes: spec.total,
        baselineRss: sampler.baseline,
        peakRssGrowth: sampler.stop(),
        pushedMessages: pushed,
        elapsedMs: Date.now() - started,
      });
    })();
  });
  await listenWs(wss);
}

/** A raw client that completes the handshake, then reads 1 KiB per second. */
async function slowReaderClient(spec: RoleSpec): Promise<void> {
  const { socket } = await handshake(spec.port!);
  socket.pause();
  process.on('message', () => send({ type: 'client-report' }));
  const started = Date.now();
  // Bounded: stops after the server's push and wait have surely ended.
  while (Date.now() - started < 60_000 && !socket.destroyed) {
    socket.read(1024);
    await pause(1000);
  }
  socket.destroy();
}

async function slowConsumerServer(spec: RoleSpec): Promise<void> {
  const sampler = new RssSampler();
  const started = Date.now();
  const handle = (): Promise<void> => pause(100); // 10 messages per second
  const finish = (extra: Partial<BackpressureResult>): void => {
    send({
      type: 'result',
      target: spec.target,
      totalBytes: spec.total,
      baselineRss: sampler.baseline,
      peakRssGrowth: sampler.stop(),
      elapsedMs: Date.now() - started,
      ...extra,
    });
  };
  if (spec.target === 'rxws') {
    const { createServer, flowControl } = loadRxws();
    const server = createServer({ host: '127.0.0.1', port: 0, logLevel: 0, maxPayload: 2 * MiB });
    server.connections$.subscribe((conn) => {
      sampler.start();
      let handled = 0;
      conn.messages$
        .pipe(flowControl(conn, () => handle(), { highWaterMark: 16 }))
        .subscribe(() => handled++);
      setTimeout(() => {
        const stats = conn.stats;
        finish({
          receivedMessages: stats.messagesIn,
          handledMessages: handled,
          timesPaused: stats.timesPaused,
        });
      }, spec.durationMs);
    });
    await listenRxws(server);
    return;
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    sampler.start();
    let received = 0;
    let handled = 0;
    // The naive handler: each message's work is chained; nothing slows the client down.
    let work = Promise.resolve();
    ws.on('message', (data: Buffer) => {
      received++;
      work = work.then(() => handle().then(() => void (handled += data.length > 0 ? 1 : 0)));
    });
    setTimeout(
      () => finish({ receivedMessages: received, handledMessages: handled }),
      spec.durationMs,
    );
  });
  await listenWs(wss);
}

/** A ws client that sends everything as fast as it can; reports its bufferedAmount at the end. */
async function slowConsumerClient(spec: RoleSpec): Promise<void> {
  const ws = new WebSocket(`ws://127.0.0.1:${spec.port}`);
  ws.on('error', () => undefined);
  await new Promise((r) => ws.once('open', r));
  const messages = spec.total / CHUNK;
  const payload = Buffer.alloc(CHUNK, 0x61);
  for (let i = 0; i < messages; i++) {
    ws.send(payload);
    if (i % 64 === 63) await pause(0);
  }
  process.on('message', () => {
    send({ type: 'client-report', bufferedAmount: ws.bufferedAmount });
    ws.terminate();
  });
}

if (require.main === module) {
  runRole<RoleSpec>({
    'slow-reader': { server: slowReaderServer, client: slowReaderClient },
    'slow-consumer': { server: slowConsumerServer, client: slowConsumerClient },
  });
}
