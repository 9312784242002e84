/**
 * A server under test, in its own process: started by bench/run.ts with a ServerSpec as argv[2],
 * answers the orchestrator over IPC. Each target is written the way its users would write it.
 */
import { constants as cryptoConstants } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { createServer as createNetServer, type Socket } from 'node:net';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { WebSocketServer, type WebSocket } from 'ws';
import { OP_BINARY, OP_TEXT, serverFrame } from './lib/frames';
import {
  now,
  type CpuReport,
  type FromServer,
  type ServerSpec,
  type ToServer,
} from './lib/protocol';
import { loadUws } from './lib/uws';

// rxws as users run it: the tsc build in dist/ (run.ts builds it first). Running src/ through
// tsx would measure esbuild's keepNames helpers too (a dictionary-mode closure per arrow).
const { createServer } = createRequire(__filename)('../dist') as typeof import('../src');

const spec = JSON.parse(process.argv[2]) as ServerSpec;
const send = (m: FromServer): void => void process.send?.(m);
const publishPayload = Buffer.alloc(spec.payload, 0x61).toString();
/**
 * fan-out with deflate: JSON-like ticks of `spec.payload` bytes, a different message each round
 * (as a feed would publish), all of the same length.
 */
const deflatePayloads = spec.deflate
  ? Array.from({ length: 16 }, (_, round) => {
      let s = '[';
      for (let i = round * 1000; s.length < spec.payload; i++) {
        s += `${JSON.stringify({ id: i, sym: 'EURUSD', bid: 1.08 + (i % 7) / 1000, ts: 1.7e12 + i * 13 })},`;
      }
      return s.slice(0, spec.payload);
    })
  : [];
let round = 0;
/** The message of the next fan-out round. */
const nextPayload = (): string =>
  spec.deflate ? deflatePayloads[round++ % deflatePayloads.length] : publishPayload;
/** fan-out: the topic every connection subscribes to when the case publishes to one. */
const TOPIC = 'all';
/** Whether the server echoes what it gets (the connect and idle scenarios only open and close). */
const echoes =
  spec.scenario === 'echo-small' ||
  spec.scenario === 'echo-large' ||
  (spec.scenario === 'wss' && spec.workload === 'echo');
/** wss: the same PEM text for both servers. */
const pem = spec.tls
  ? { cert: readFileSync(spec.tls.certFile, 'utf8'), key: readFileSync(spec.tls.keyFile, 'utf8') }
  : undefined;

/** What differs between targets. */
interface Running {
  port: number;
  publish(): void;
  connections(): number;
}

function startRxws(): Promise<Running> {
  const server = createServer({
    host: '127.0.0.1',
    port: 0,
    logLevel: 0,
    maxConnections: 100_000,
    backlog: 4096,
    ...(spec.hook ? { onOpenRequest: () => true } : {}),
    // Its default with deflate: no context takeover, so a publish is compressed once.
    ...(spec.deflate ? { perMessageDeflate: true } : {}),
    // wss: rxws's own TLS stage, pinned like the https.Server below. Session tickets stay as
    // by default on both servers (issued); the client never offers one.
    ...(spec.tls && pem
      ? {
          tls: {
            cert: pem.cert,
            key: pem.key,
            minVersion: spec.tls.minVersion,
            maxVersion: spec.tls.maxVersion,
            ciphers: spec.tls.ciphers,
            groups: spec.tls.groups,
          },
        }
      : {}),
  });
  if (echoes) {
    server.connections$.subscribe((conn) => {
      conn.messages$.subscribe((msg) => conn.sink.next(msg.data));
    });
  }
  const viaTopic = spec.publish === 'topic';
  if (viaTopic) server.connections$.subscribe((conn) => conn.subscribe(TOPIC));
  return server.listen().then(({ port }) => ({
    port,
    publish: () => {
      if (viaTopic) server.publish(TOPIC, nextPayload());
      else server.broadcast(nextPayload());
    },
    connections: () => server.connections.size,
  }));
}

function startWs(): Promise<Running> {
  return new Promise((resolve) => {
    // wss: ws on an https.Server, as its docs show, with the TLS settings rxws passes to Node
    // (tls-options.ts: the same versions, suite, group and secureOptions).
    const https =
      spec.tls && pem
        ? createHttpsServer({
            cert: pem.cert,
            key: pem.key,
            minVersion: spec.tls.minVersion,
            maxVersion: spec.tls.maxVersion,
            ciphers: spec.tls.ciphers,
            ecdhCurve: spec.tls.groups,
            secureOptions: cryptoConstants.SSL_OP_NO_RENEGOTIATION,
          })
        : undefined;
    const wss = new WebSocketServer({
      ...(https ? { server: https } : { host: '127.0.0.1', port: 0, backlog: 4096 }),
      ...(spec.hook ? { verifyClient: () => true } : {}),
      // ws's documented switch, with its defaults (context takeover unless the client asks).
      ...(spec.deflate ? { perMessageDeflate: true } : {}),
    });
    wss.on('connection', (ws: WebSocket) => {
      ws.on('error', () => undefined);
      if (echoes) {
        ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      }
    });
    const listening = (port: number): void =>
      resolve({
        port,
        publish: () => {
          const message = nextPayload();
          for (const client of wss.clients) client.send(message);
        },
        connections: () => wss.clients.size,
      });
    if (https) {
      https.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () =>
        listening((https.address() as { port: number }).port),
      );
    } else {
      wss.on('listening', () => listening((wss.address() as { port: number }).port));
    }
  });
}

/** The ceiling: the same bytes over plain TCP, with a canned handshake and no parsing. */
function startNet(): Promise<Running> {
  const binary = spec.scenario === 'echo-large';
  const reply = serverFrame(binary ? OP_BINARY : OP_TEXT, Buffer.alloc(spec.payload, 0x61));
  const requestLength = spec.payload + (spec.payload < 126 ? 6 : spec.payload < 65536 ? 8 : 14);
  const sockets = new Set<Socket>();
  // fan-out with deflate: answers the offer, and compresses each message once (RFC 7692 7.2.1).
  const extension = spec.deflate
    ? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n'
    : '';
  const deflatedFrame = (text: string): Buffer => {
    const out = deflateRawSync(text, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const frame = serverFrame(OP_TEXT, out.subarray(0, out.length - 4));
    frame[0] |= 0x40;
    return frame;
  };
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = '';
    let pending = 0;
    const onHead = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onHead);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
          `${extension}\r\n`,
      );
      socket.on('data', (data: Buffer) => {
        pending += data.length;
        const n = Math.floor(pending / requestLength);
        if (n === 0) return;
        pending -= n * requestLength;
        socket.write(n === 1 ? reply : Buffer.concat(new Array<Buffer>(n).fill(reply)));
      });
    };
    socket.on('data', onHead);
  });
  return new Promise((resolve) =>
    server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () =>
      resolve({
        port: (server.address() as { port: number }).port,
        publish: () => {
          const frame = spec.deflate ? deflatedFrame(nextPayload()) : reply;
          for (const s of sockets) s.write(frame);
        },
        connections: () => sockets.size,
      }),
    ),
  );
}

function startUws(): Promise<Running> {
  const uws = loadUws();
  if (!uws.ok) return Promise.reject(new Error(uws.reason));
  const { App, us_socket_local_port, SHARED_COMPRESSOR } = uws.module;
  let open = 0;
  const app = App();
  app.ws('/*', {
    maxPayloadLength: 100 * 1024 * 1024,
    maxBackpressure: 1024 * 1024 * 1024,
    idleTimeout: 0,
    // Its shared compressor: no context takeover, a publish compressed once.
    ...(spec.deflate ? { compression: SHARED_COMPRESSOR } : {}),
    ...(spec.hook
      ? {
          upgrade: (res: UwsResponse, req: UwsRequest, context: unknown) => {
            res.upgrade(
              {},
              req.getHeader('sec-websocket-key'),
              req.getHeader('sec-websocket-protocol'),
              req.getHeader('sec-websocket-extensions'),
              context,
            );
          },
        }
      : {}),
    open: (ws: UwsSocket) => {
      open++;
      if (spec.scenario === 'fan-out') ws.subscribe(TOPIC);
    },
    close: () => open--,
    message: (ws: UwsSocket, message: ArrayBuffer, isBinary: boolean) => {
      ws.send(message, isBinary);
    },
  });
  return new Promise((resolve, reject) =>
    app.listen('127.0.0.1', 0, (token: unknown) => {
      if (!token) reject(new Error('uWebSockets.js could not listen'));
      else
        resolve({
          port: us_socket_local_port(token),
          publish: () => app.publish(TOPIC, nextPayload(), false, spec.deflate === true),
          connections: () => open,
        });
    }),
  );
}

interface UwsResponse {
  upgrade(data: object, key: string, protocol: string, extensions: string, context: unknown): void;
}
interface UwsRequest {
  getHeader(name: string): string;
}
interface UwsSocket {
  send(message: ArrayBuffer | string, isBinary?: boolean): number;
  subscribe(topic: string): boolean;
}

function nativeAddons(): { bufferutil: boolean; utf8Validate: boolean } {
  const can = (name: string, disabled: string | undefined): boolean => {
    if (disabled) return false;
    try {
      require.resolve(name);
      createRequire(__filename)(name);
      return true;
    } catch {
      return false;
    }
  };
  return {
    bufferutil: can('bufferutil', process.env.WS_NO_BUFFER_UTIL),
    utf8Validate: can('utf-8-validate', process.env.WS_NO_UTF_8_VALIDATE),
  };
}

const starters: Record<ServerSpec['target'], () => Promise<Running>> = {
  rxws: startRxws,
  ws: startWs,
  net: startNet,
  uws: startUws,
};

let mark = { cpu: process.cpuUsage(), at: now() };

function cpuSinceMark(): CpuReport {
  const used = process.cpuUsage(mark.cpu);
  const wallMs = now() - mark.at;
  return { cpuPercent: ((used.user + used.system) / 1000 / wallMs) * 100, wallMs };
}

starters[spec.target]().then(
  (running) => {
    process.on('message', (m: ToServer) => {
      switch (m.type) {
        case 'mark':
          mark = { cpu: process.cpuUsage(), at: now() };
          break;
        case 'report':
          send({ type: 'report', cpu: cpuSinceMark() });
          break;
        case 'memory': {
          const gc = (globalThis as { gc?: () => void }).gc;
          gc?.();
          gc?.();
          const mem = process.memoryUsage();
          send({
            type: 'memory',
            memory: {
              rss: mem.rss,
              heapUsed: mem.heapUsed,
              external: mem.external,
              connections: running.connections(),
            },
          });
          break;
        }
        case 'publish': {
          const at = now();
          running.publish();
          send({ type: 'published', at });
          break;
        }
        case 'stop':
          process.exit(0);
      }
    });
    send({ type: 'ready', port: running.port, native: nativeAddons() });
  },
  (err: Error) => {
    send({ type: 'error', message: err.message });
    process.exit(0);
  },
);
