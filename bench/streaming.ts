/**
 * Streaming proofs: 1 GiB through each direction as one message, rxws streaming it next to
 * bare ws doing the same with a whole message (which is all ws can deliver or, without manual
 * fragmenting, send). Each run is a server process and a cheap raw-socket client process; the
 * server samples its RSS every 10 ms and reports the peak over its baseline.
 *
 * stream-in: the client writes one binary frame of `total` bytes (pre-masked 1 MiB blocks,
 *   written as the socket drains). rxws (`bufferMessage: false`) counts `conn.fragments$`
 *   pieces until `eom`; ws (`maxPayload` raised to fit) gets the whole message in 'message'.
 *   Throughput: from the server's connection to the end of the message.
 * stream-out: the server sends one `total`-byte binary message to a client that reads and
 *   counts frames. rxws: `conn.sendStream()` of an async generator making 1 MiB blocks, as an
 *   app producing data does; ws: `ws.send()` of the whole message, made up front. Throughput:
 *   from the client's handshake to the last byte.
 *
 * Used by run.ts (`npm run bench -- stream-in stream-out`); also the process entry for both
 * roles (`tsx bench/streaming.ts server|client <json>`).
 */
import { WebSocketServer } from 'ws';
import {
  MiB,
  handshake,
  listenRxws,
  listenWs,
  loadRxws,
  RssSampler,
  runProof,
  nextMessage,
  proofTotal,
  runRole,
  send,
  type ProofCase,
  type ProofResult,
} from './lib/proof';

export type StreamingScenario = 'stream-in' | 'stream-out';

interface RoleSpec {
  scenario: StreamingScenario;
  target: 'rxws' | 'ws';
  total: number;
  port?: number;
}

/** What a streaming run reports: the server's memory, and the throughput. */
export interface StreamingResult extends ProofResult {
  megabytesPerSec: number;
}

export const streamingCases: Record<StreamingScenario, ProofCase[]> = {
  'stream-in': [
    { name: 'rxws fragments$ (bufferMessage: false)', target: 'rxws' },
    { name: 'ws whole message', target: 'ws' },
  ],
  'stream-out': [
    { name: 'rxws sendStream()', target: 'rxws' },
    { name: 'ws send() of the whole message', target: 'ws' },
  ],
};

/** Runs one case; resolves with the server's memory and the measured throughput. */
export async function runStreamingCase(
  scenario: StreamingScenario,
  c: ProofCase,
  quick: boolean,
  env: NodeJS.ProcessEnv,
): Promise<StreamingResult> {
  const spec: RoleSpec = { scenario, target: c.target, total: proofTotal(quick) };
  return runProof(__filename, spec, env, quick, async (server, client) => {
    let elapsedMs: number | undefined;
    if (scenario === 'stream-out') {
      ({ elapsedMs } = await nextMessage<{ elapsedMs: number }>(client, 'received'));
      server.send({ type: 'report' });
    }
    const report = await nextMessage<ProofResult>(server, 'result');
    elapsedMs ??= report.elapsedMs;
    return {
      ...report,
      case: c.name,
      elapsedMs,
      megabytesPerSec: spec.total / 1e6 / (elapsedMs / 1000),
    };
  });
}

// ---------------------------------------------------------------------------------------------
// The processes

function result(spec: RoleSpec, sampler: RssSampler, elapsedMs: number): void {
  send({
    type: 'result',
    target: spec.target,
    totalBytes: spec.total,
    baselineRss: sampler.baseline,
    peakRssGrowth: sampler.stop(),
    elapsedMs,
  });
}

async function streamInServer(spec: RoleSpec): Promise<void> {
  const sampler = new RssSampler();
  if (spec.target === 'rxws') {
    const { createServer } = loadRxws();
    const server = createServer({ host: '127.0.0.1', port: 0, logLevel: 0, bufferMessage: false });
    server.connections$.subscribe((conn) => {
      sampler.start();
      const started = performance.now();
      let bytes = 0;
      conn.fragments$.subscribe((piece) => {
        bytes += (piece.data as Buffer).length;
        if (!piece.eom) return;
        if (bytes !== spec.total) send({ type: 'error', message: `received ${bytes} bytes` });
        else result(spec, sampler, performance.now() - started);
      });
    });
    await listenRxws(server);
    return;
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: spec.total + 1 });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    sampler.start();
    const started = performance.now();
    ws.on('message', (data: Buffer) => {
      if (data.length !== spec.total) send({ type: 'error', message: `received ${data.length}` });
      else result(spec, sampler, performance.now() - started);
    });
  });
  await listenWs(wss);
}

/** Writes one masked binary frame of `spec.total` bytes, 1 MiB at a time as the socket drains. */
async function streamInClient(spec: RoleSpec): Promise<void> {
  const { socket } = await handshake(spec.port!);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const header = Buffer.alloc(14);
  header[0] = 0x82;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(spec.total), 2);
  key.copy(header, 10);
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < MiB; i++) block[i] = (i & 0xff) ^ key[i & 3];
  socket.write(header);
  for (let sent = 0; sent < spec.total && !socket.destroyed; sent += MiB) {
    if (!socket.write(block)) await new Promise((r) => socket.once('drain', r));
  }
  // The orchestrator kills this process once the server has reported.
}

async function streamOutServer(spec: RoleSpec): Promise<void> {
  const sampler = new RssSampler();
  const reportWhenAsked = (): void => {
    process.on('message', () => result(spec, sampler, 0));
  };
  if (spec.target === 'rxws') {
    const { createServer } = loadRxws();
    const server = createServer({ host: '127.0.0.1', port: 0, logLevel: 0 });
    server.connections$.subscribe((conn) => {
      sampler.start();
      const blocks = spec.total / MiB;
      // The app's data, made as it is asked for: one fresh 1 MiB block at a time.
      async function* produce(): AsyncGenerator<Buffer> {
        for (let i = 0; i < blocks; i++) yield Buffer.allocUnsafe(MiB).fill(i & 0xff);
      }
      conn.sendStream(produce(), { length: spec.total }).subscribe({
        error: (err: Error) => send({ type: 'error', message: err.message }),
      });
      reportWhenAsked();
    });
    await listenRxws(server);
    return;
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => undefined);
    sampler.start();
    // The whole message, made before it can be sent.
    const message = Buffer.allocUnsafe(spec.total);
    for (let at = 0, i = 0; at < spec.total; at += MiB, i++) message.fill(i & 0xff, at, at + MiB);
    ws.send(message);
    reportWhenAsked();
  });
  await listenWs(wss);
}

/**
 * Reads frames and counts their payload until a data frame with FIN has ended; reports the
 * time from the handshake to then. A small state machine over the socket's chunks: a frame
 * header is gathered (2–10 bytes, unmasked), then its payload is skipped.
 */
async function streamOutClient(spec: RoleSpec): Promise<void> {
  const { socket, rest } = await handshake(spec.port!);
  const started = performance.now();
  const header = Buffer.alloc(10);
  let have = 0; // header bytes gathered; -1 while in a payload
  let left = 0;
  let fin = false;
  let payload = 0;
  const onData = (chunk: Buffer): void => {
    let at = 0;
    while (at < chunk.length) {
      if (have >= 0) {
        header[have++] = chunk[at++];
        if (have < 2) continue;
        const n = header[1] & 0x7f;
        const size = n < 126 ? 2 : n === 126 ? 4 : 10;
        if (have < size) continue;
        left = n < 126 ? n : n === 126 ? header.readUInt16BE(2) : Number(header.readBigUInt64BE(2));
        fin = (header[0] & 0x80) !== 0 && (header[0] & 0x0f) < 0x08;
        have = left > 0 ? -1 : 0;
        if (left === 0 && fin) return done();
        continue;
      }
      const n = Math.min(left, chunk.length - at);
      left -= n;
      payload += n;
      at += n;
      if (left > 0) continue;
      have = 0;
      if (fin) return done();
    }
  };
  const done = (): void => {
    socket.off('data', onData);
    send({ type: 'received', elapsedMs: performance.now() - started, bytes: payload });
    socket.destroy();
  };
  socket.on('data', onData);
  if (rest.length > 0) onData(rest);
}

if (require.main === module) {
  runRole<RoleSpec>({
    'stream-in': { server: streamInServer, client: streamInClient },
    'stream-out': { server: streamOutServer, client: streamOutClient },
  });
}
