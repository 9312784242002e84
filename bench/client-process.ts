/**
 * The load generator, in its own process: raw `net` sockets writing pre-built, pre-masked frames
 * and counting replies by length, so the client costs far less CPU than the server it loads.
 * Every loop is bounded by time and count.
 */
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import {
  connect as connectTls,
  createSecureContext,
  type ConnectionOptions,
  type SecureContext,
  type TLSSocket,
} from 'node:tls';
import {
  DEFLATE_OFFER,
  MessageCounter,
  OP_BINARY,
  OP_CLOSE,
  OP_TEXT,
  maskedFrame,
  serverFrameLength,
  upgradeRequest,
} from './lib/frames';
import {
  now,
  type ClientMetrics,
  type ClientSpec,
  type CpuReport,
  type FromClient,
  type Negotiated,
  type ToClient,
} from './lib/protocol';
import { percentile } from './lib/stats';

const send = (m: FromClient): void => void process.send?.(m);
const MAX_SAMPLES = 2_000_000;

/**
 * wss: what the first connection negotiated, and how many sessions were resumed (the client
 * never offers one, so none should be).
 */
let negotiated: Negotiated | undefined;
/** One client context for every connection (a context per connection would parse the CA each time). */
let context: SecureContext | undefined;

/**
 * A TLS socket to the wss server: the CA trusted, the chain and the name (127.0.0.1) verified,
 * pinned to the suite and group under test. No `session` is given, so every connection is a
 * full handshake (Node's TLS client keeps no session cache of its own).
 */
function connectSecure(spec: ClientSpec, localAddress: string): TLSSocket {
  const tls = spec.tls!;
  context ??= createSecureContext({
    ca: readFileSync(tls.caFile, 'utf8'),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ciphers: tls.ciphers,
    ecdhCurve: tls.groups,
  });
  // tls.connect() takes socket.connect()'s options too (Node's docs); its types omit localAddress.
  const options: ConnectionOptions & { localAddress: string } = {
    port: spec.port,
    host: '127.0.0.1',
    localAddress,
    secureContext: context,
  };
  const socket = connectTls(options);
  socket.once('secureConnect', () => {
    const cipher = socket.getCipher().standardName;
    const protocol = socket.getProtocol() ?? 'unknown';
    if (cipher !== tls.ciphers || protocol !== tls.minVersion) {
      socket.destroy(new Error(`wss: negotiated ${protocol} ${cipher}, expected ${tls.ciphers}`));
      return;
    }
    negotiated ??= { protocol, cipher, resumed: 0 };
    if (socket.isSessionReused()) negotiated.resumed++;
  });
  return socket;
}

/** Opens a socket and completes the opening handshake; resolves with the bytes after the head. */
function open(spec: ClientSpec, localAddress: string): Promise<{ socket: Socket; rest: Buffer }> {
  const port = spec.port;
  return new Promise((resolve, reject) => {
    const socket = spec.tls
      ? connectSecure(spec, localAddress)
      : connect({ port, host: '127.0.0.1', localAddress });
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.off('error', reject);
      if (!head.subarray(0, 12).toString('latin1').includes(' 101')) {
        reject(new Error(`handshake refused: ${head.subarray(0, end).toString('latin1')}`));
        socket.destroy();
        return;
      }
      if (
        spec.deflate &&
        !/^sec-websocket-extensions:.*permessage-deflate/im.test(head.toString('latin1'))
      ) {
        reject(new Error('permessage-deflate was offered and not accepted'));
        socket.destroy();
        return;
      }
      resolve({ socket, rest: head.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    // Over TLS, written once the handshake is done (Node holds it until then).
    socket.write(upgradeRequest(port, '/', spec.deflate ? DEFLATE_OFFER : undefined));
  });
}

async function openMany(spec: ClientSpec): Promise<Array<{ socket: Socket; rest: Buffer }>> {
  const result: Array<{ socket: Socket; rest: Buffer }> = [];
  const batch = 200;
  for (let i = 0; i < spec.connections; i += batch) {
    const n = Math.min(batch, spec.connections - i);
    // Spread sources over 127.0.0.x so 10k+ connections never run short of ephemeral ports.
    const opened = await Promise.all(
      Array.from({ length: n }, (_, j) => open(spec, `127.0.0.${1 + ((i + j) % 8)}`)),
    );
    result.push(...opened);
  }
  return result;
}

function cpuSince(start: NodeJS.CpuUsage, startAt: number): CpuReport {
  const used = process.cpuUsage(start);
  const wallMs = now() - startAt;
  return { cpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100, wallMs };
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** --quick: extends the measured window until `count()` reaches `min` (or for 20 s at most). */
async function atLeast(min: number, count: () => number): Promise<void> {
  const until = now() + 20_000;
  while (count() < min && now() < until) await delay(5);
}

async function echo(spec: ClientSpec): Promise<ClientMetrics> {
  const conns = await openMany(spec);
  const frame = maskedFrame(spec.binary ? OP_BINARY : OP_TEXT, Buffer.alloc(spec.payload, 0x62));
  const batches = Array.from({ length: spec.window + 1 }, (_, k) =>
    Buffer.concat(new Array<Buffer>(k).fill(frame)),
  );
  const replyLength = serverFrameLength(spec.payload);
  const samples = new Float64Array(MAX_SAMPLES);
  let sampleCount = 0;
  let measuring = false;
  let stopped = false;
  let completed = 0;

  for (const { socket, rest } of conns) {
    const sentAt: number[] = [];
    let pending = 0;
    const onData = (chunk: Buffer): void => {
      pending += chunk.length;
      let replies = 0;
      while (pending >= replyLength) {
        pending -= replyLength;
        replies++;
      }
      if (replies === 0) return;
      const t = performance.now();
      for (let i = 0; i < replies; i++) {
        const started = sentAt.shift()!;
        if (measuring) {
          completed++;
          if (sampleCount < MAX_SAMPLES) samples[sampleCount++] = t - started;
        }
      }
      if (stopped) return;
      for (let i = 0; i < replies; i++) sentAt.push(t);
      socket.write(batches[replies] ?? Buffer.concat(new Array<Buffer>(replies).fill(frame)));
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
    const t = performance.now();
    for (let i = 0; i < spec.window; i++) sentAt.push(t);
    socket.write(batches[spec.window]);
    if (rest.length) onData(rest);
  }

  await delay(spec.warmupMs);
  send({ type: 'measuring' });
  const cpuStart = process.cpuUsage();
  const startAt = now();
  measuring = true;
  completed = 0;
  await delay(spec.measureMs);
  if (spec.minCount) await atLeast(spec.minCount, () => completed);
  measuring = false;
  const cpu = cpuSince(cpuStart, startAt);
  const seconds = cpu.wallMs / 1000;
  stopped = true;
  const done = completed;
  for (const { socket } of conns) socket.destroy();
  const rtts = samples.subarray(0, sampleCount);
  return {
    messagesPerSec: done / seconds,
    megabytesPerSec: (done * spec.payload) / seconds / 1e6,
    p50Ms: percentile(rtts, 50),
    p99Ms: percentile(rtts, 99),
    ...(negotiated ? { negotiated } : {}),
    cpu,
  };
}

async function fanOut(spec: ClientSpec): Promise<ClientMetrics> {
  const conns = await openMany(spec);
  const replyLength = serverFrameLength(spec.payload);
  let round: { received: number; first: number; last: number } = { received: 0, first: 0, last: 0 };
  let deliveries = 0;
  const counters: MessageCounter[] = [];
  for (const { socket, rest } of conns) {
    let pending = 0;
    // With deflate, a message's length on the wire is the server's to choose: count frames.
    const counter = spec.deflate ? new MessageCounter() : undefined;
    if (counter) {
      counters.push(counter);
      if (rest.length) counter.push(rest);
    }
    socket.on('data', (chunk: Buffer) => {
      let ended = 0;
      if (counter) {
        ended = counter.push(chunk);
      } else {
        pending += chunk.length;
        while (pending >= replyLength) {
          pending -= replyLength;
          ended++;
        }
      }
      for (; ended > 0; ended--) {
        const t = now();
        if (round.received === 0) round.first = t;
        round.last = t;
        round.received++;
        deliveries++;
        if (round.received === conns.length) {
          send({ type: 'round', ...round });
          round = { received: 0, first: 0, last: 0 };
        }
      }
    });
    socket.on('error', () => undefined);
  }
  send({ type: 'open', connections: conns.length });
  const cpuStart = process.cpuUsage();
  const startAt = now();
  await new Promise<void>((resolve) =>
    process.on('message', (m: ToClient) => m.type === 'stop' && resolve()),
  );
  for (const { socket } of conns) socket.destroy();
  const sum = (f: (c: MessageCounter) => number): number => counters.reduce((n, c) => n + f(c), 0);
  return {
    deliveries,
    ...(spec.deflate
      ? {
          compressedDeliveries: sum((c) => c.compressed),
          wireBytesPerDelivery:
            sum((c) => c.bytes) /
            Math.max(
              1,
              sum((c) => c.messages),
            ),
        }
      : {}),
    cpu: cpuSince(cpuStart, startAt),
  };
}

async function connectLoop(spec: ClientSpec): Promise<ClientMetrics> {
  const close = maskedFrame(OP_CLOSE, Buffer.from([0x03, 0xe8]));
  let measuring = false;
  let stopped = false;
  let completed = 0;
  let failures = 0;
  let source = 0;
  const cycle = async (): Promise<void> => {
    const { socket } = await open(spec, `127.0.0.${1 + (source++ % 8)}`);
    await new Promise<void>((resolve) => {
      socket.on('close', () => resolve());
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.write(close);
    });
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        await cycle();
        if (measuring) completed++;
      } catch {
        failures++;
        if (failures > 1000) return;
      }
    }
  };
  const loops = Array.from({ length: spec.concurrency }, loop);
  await delay(spec.warmupMs);
  send({ type: 'measuring' });
  const cpuStart = process.cpuUsage();
  const startAt = now();
  measuring = true;
  await delay(spec.measureMs);
  if (spec.minCount) await atLeast(spec.minCount, () => completed);
  measuring = false;
  const cpu = cpuSince(cpuStart, startAt);
  stopped = true;
  await Promise.all(loops);
  return {
    connectsPerSec: completed / (cpu.wallMs / 1000),
    failures,
    ...(negotiated ? { negotiated } : {}),
    cpu,
  };
}

async function idle(spec: ClientSpec): Promise<ClientMetrics> {
  const cpuStart = process.cpuUsage();
  const startAt = now();
  const conns = await openMany(spec);
  send({ type: 'open', connections: conns.length });
  await new Promise<void>((resolve) =>
    process.on('message', (m: ToClient) => m.type === 'stop' && resolve()),
  );
  for (const { socket } of conns) socket.destroy();
  return { cpu: cpuSince(cpuStart, startAt) };
}

process.once('message', (m: ToClient) => {
  if (m.type !== 'run') return;
  const run = {
    'echo-small': echo,
    'echo-large': echo,
    'fan-out': fanOut,
    connect: connectLoop,
    'idle-memory': idle,
    wss: m.spec.workload === 'connect' ? connectLoop : echo,
  }[m.spec.scenario];
  run(m.spec).then(
    (metrics) => {
      send({ type: 'result', metrics });
      setImmediate(() => process.exit(0));
    },
    (err: Error) => {
      send({ type: 'error', message: err.message });
      setImmediate(() => process.exit(0));
    },
  );
});
