import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { constants as zlibConstants, inflateRawSync } from 'node:zlib';
import { firstValueFrom, take, toArray } from 'rxjs';
import WebSocket from 'ws';
import type { Connection, RxwsServer, ServerOptions } from '../../src';
import { SYNC_DEFLATE_LIMIT } from '../../src/connection/shared-message';
import { countDeflates, type DeflateCount } from '../helpers/deflate-counter';
import { handshake, tcpConnect } from '../helpers/raw';
import { cleanup, nextMessage, openClient, startServer } from '../helpers/server';

let deflates: DeflateCount | undefined;
afterEach(async () => {
  deflates?.restore();
  deflates = undefined;
  jest.restoreAllMocks();
  await cleanup();
});

/** ws's PerMessageDeflate class (exported by ws, not declared by @types/ws). */
const PerMessageDeflate = (
  WebSocket as unknown as {
    PerMessageDeflate: { prototype: { compress(...args: unknown[]): void } };
  }
).PerMessageDeflate;

/**
 * Spies on ws's per-connection compression; `count()` is how many messages a server-side
 * PerMessageDeflate compressed (the clients here send nothing, but they are not counted anyway).
 */
function spyOnWsCompress(): { count(): number } {
  const spy = jest.spyOn(PerMessageDeflate.prototype, 'compress');
  return {
    count: () =>
      spy.mock.contexts.filter((c) => (c as { _isServer: boolean })._isServer === true).length,
  };
}

/** Compressible text, like a feed of JSON ticks, of exactly `bytes` bytes. */
function jsonText(bytes: number, seed = 0): string {
  let s = '[';
  for (let i = seed; s.length < bytes; i++) {
    s += `${JSON.stringify({ id: i, sym: 'EURUSD', bid: 1.08 + (i % 7) / 1000, ts: 1.7e12 + i * 13 })},`;
  }
  return s.slice(0, bytes);
}

/** What a ws client negotiated, as its PerMessageDeflate holds it (undefined: no deflate). */
function negotiated(client: WebSocket): Record<string, unknown> | undefined {
  return (client as unknown as { _extensions: Record<string, { params: Record<string, unknown> }> })
    ._extensions['permessage-deflate']?.params;
}

/** The next `n` messages a ws client receives, as [binary, text or bytes]. */
function collect(client: WebSocket, n: number): Promise<Array<[boolean, string | number[]]>> {
  return new Promise((resolve) => {
    const got: Array<[boolean, string | number[]]> = [];
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      got.push([isBinary, isBinary ? [...data] : data.toString()]);
      if (got.length === n) {
        client.off('message', onMessage);
        resolve(got);
      }
    };
    client.on('message', onMessage);
  });
}

/**
 * Received messages by name (the key in `known` whose value they equal), so that a failure
 * shows which message came where rather than kilobytes of text.
 */
function named(
  received: Array<[boolean, string | number[]]>,
  known: Record<string, string | Buffer>,
): string[] {
  return received.map(([binary, data]) => {
    const hit = Object.entries(known).find(([, v]) =>
      typeof v === 'string' ? !binary && v === data : binary && v.equals(Buffer.from(data)),
    );
    return hit ? hit[0] : `unknown ${binary ? 'binary' : 'text'} of ${data.length}`;
  });
}

/** A server whose connections all subscribe to topic 't', and `open()` to connect ws clients. */
async function topicServer(options: ServerOptions): Promise<{
  server: RxwsServer;
  port: number;
  url: string;
  open(n: number, clientOptions?: WebSocket.ClientOptions): Promise<[WebSocket[], Connection[]]>;
}> {
  const { server, port, url } = await startServer({ maxConnections: 2000, ...options });
  server.connections$.subscribe((conn) => conn.subscribe('t'));
  const open = async (
    n: number,
    clientOptions?: WebSocket.ClientOptions,
  ): Promise<[WebSocket[], Connection[]]> => {
    const opened = firstValueFrom(server.connections$.pipe(take(n), toArray()));
    const clients: WebSocket[] = [];
    for (let i = 0; i < n; i += 100) {
      const batch = Array.from({ length: Math.min(100, n - i) }, () =>
        openClient(url, undefined, clientOptions),
      );
      clients.push(...(await Promise.all(batch)));
    }
    return [clients, await opened];
  };
  return { server, port, url, open };
}

/** A frame as a raw client reads it, with RSV1. */
interface RawFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** A raw client that offers permessage-deflate and reads frames with their RSV1 bit. */
class RawDeflateClient {
  private pending = Buffer.alloc(0);
  private readonly frames: RawFrame[] = [];
  private wake: (() => void) | undefined;

  private constructor(
    readonly socket: Socket,
    readonly extensions: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.push(chunk));
  }

  static async open(port: number, offer = 'permessage-deflate'): Promise<RawDeflateClient> {
    const socket = await tcpConnect(port);
    const { head, rest } = await handshake(socket, port, '/', [
      `Sec-WebSocket-Extensions: ${offer}`,
    ]);
    expect(head.split(' ')[1]).toBe('101');
    const line = head.split('\r\n').find((l) => /^sec-websocket-extensions:/i.test(l));
    const client = new RawDeflateClient(socket, line?.slice(line.indexOf(':') + 1).trim() ?? '');
    if (rest.length > 0) client.push(rest);
    return client;
  }

  /** The frames of the next message (through its FIN frame). */
  async nextMessage(): Promise<RawFrame[]> {
    const frames: RawFrame[] = [];
    for (;;) {
      while (this.frames.length === 0) await new Promise<void>((r) => (this.wake = r));
      const f = this.frames.shift()!;
      frames.push(f);
      if (f.fin) return frames;
    }
  }

  private push(chunk: Buffer): void {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (buf.length < 2) break;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) break;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) break;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + len) break;
      this.frames.push({
        fin: (buf[0] & 0x80) !== 0,
        rsv1: (buf[0] & 0x40) !== 0,
        opcode: buf[0] & 0x0f,
        payload: Buffer.from(buf.subarray(at, at + len)),
      });
      buf = buf.subarray(at + len);
    }
    this.pending = Buffer.from(buf);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** Inflates a permessage-deflate message from its frames' payloads (RFC 7692 7.2.2). */
function inflateMessage(frames: RawFrame[]): Buffer {
  return inflateRawSync(
    Buffer.concat([...frames.map((f) => f.payload), Buffer.from([0, 0, 0xff, 0xff])]),
    { finishFlush: zlibConstants.Z_SYNC_FLUSH },
  );
}

describe('server.publish() with permessage-deflate', () => {
  it('compresses a publish to 1,000 compressing subscribers once, and every client inflates the same text', async () => {
    const { server, open } = await topicServer({ perMessageDeflate: true });
    const [clients, conns] = await open(1000, { perMessageDeflate: true });
    for (const client of clients) {
      expect(negotiated(client)).toEqual({ server_no_context_takeover: true });
    }
    const text = jsonText(8 * 1024);
    const got = clients.map(nextMessage);
    deflates = countDeflates();
    const wsCompress = spyOnWsCompress();
    expect(server.publish('t', text)).toBe(1000);
    const received = await Promise.all(got);
    expect(deflates.count).toBe(1);
    expect(wsCompress.count()).toBe(0);
    expect(received.filter((m) => !m.isBinary && m.data.toString() === text)).toHaveLength(1000);
    expect(new Set(conns.map((c) => `${c.stats.messagesOut} ${c.stats.bytesOut}`))).toEqual(
      new Set([`1 ${8 * 1024}`]),
    );
  }, 60_000);

  it('writes one compressed frame with RSV1, shorter than the text, that inflates to it', async () => {
    const { server, port } = await topicServer({ perMessageDeflate: true });
    const opened = firstValueFrom(server.connections$);
    const raw = await RawDeflateClient.open(port);
    const conn = await opened;
    expect(raw.extensions).toBe('permessage-deflate; server_no_context_takeover');
    const text = jsonText(4096, 7);
    deflates = countDeflates();
    server.publish('t', text);
    server.publish('t', text);
    const frames = [await raw.nextMessage(), await raw.nextMessage()];
    // The same bytes twice: each message compressed on its own, no context carried over.
    expect(frames[1][0].payload.equals(frames[0][0].payload)).toBe(true);
    expect(frames[0].map((f) => [f.fin, f.rsv1, f.opcode])).toEqual([[true, true, 0x1]]);
    expect(frames[0][0].payload.length).toBeLessThan(text.length / 3);
    expect(inflateMessage(frames[0]).toString()).toBe(text);
    expect(deflates.count).toBe(2);
    expect([conn.stats.messagesOut, conn.stats.bytesOut]).toEqual([2, 8192]);
  });

  it('sends a message under the threshold as a plain frame, as ws would', async () => {
    const { server, port } = await topicServer({ perMessageDeflate: { threshold: 100 } });
    const raw = await RawDeflateClient.open(port);
    deflates = countDeflates();
    server.publish('t', 'x'.repeat(99));
    server.publish('t', 'x'.repeat(100));
    const [small, large] = [await raw.nextMessage(), await raw.nextMessage()];
    expect(small.map((f) => [f.rsv1, f.payload.toString()])).toEqual([[false, 'x'.repeat(99)]]);
    expect(large[0].rsv1).toBe(true);
    expect(inflateMessage(large).toString()).toBe('x'.repeat(100));
    expect(deflates.count).toBe(1);
  });

  it('with threshold 0, compresses even an empty message, which arrives empty', async () => {
    const { server, port, open } = await topicServer({ perMessageDeflate: { threshold: 0 } });
    const raw = await RawDeflateClient.open(port);
    const [[client]] = await open(1, { perMessageDeflate: true });
    const got = collect(client, 2);
    server.publish('t', '');
    server.publish('t', 'a');
    const frames = [await raw.nextMessage(), await raw.nextMessage()];
    expect(frames.map((m) => [m[0].rsv1, inflateMessage(m).toString()])).toEqual([
      [true, ''],
      [true, 'a'],
    ]);
    expect(await got).toEqual([
      [false, ''],
      [false, 'a'],
    ]);
  });

  it('sends binary compressed, with the binary opcode', async () => {
    const { server, port, open } = await topicServer({ perMessageDeflate: true });
    const raw = await RawDeflateClient.open(port);
    const [[client]] = await open(1, { perMessageDeflate: true });
    const bytes = Buffer.from(jsonText(3000, 3));
    const got = collect(client, 1);
    deflates = countDeflates();
    expect(server.publish('t', bytes)).toBe(2);
    const frames = await raw.nextMessage();
    expect(frames.map((f) => [f.fin, f.rsv1, f.opcode])).toEqual([[true, true, 0x2]]);
    expect(inflateMessage(frames).equals(bytes)).toBe(true);
    expect(await got).toEqual([[true, [...bytes]]]);
    expect(deflates.count).toBe(1);
  });

  it.each([
    ['on the event loop', 20 * 1024],
    ['on the thread pool', 2 * SYNC_DEFLATE_LIMIT],
  ])(
    'cuts a compressed message over maxFrameSize into frames, RSV1 on the first only (%s)',
    async (_, size) => {
      const { server, port, open } = await topicServer({
        perMessageDeflate: true,
        maxFrameSize: 1000,
      });
      const raw = await RawDeflateClient.open(port);
      const [[client]] = await open(1, { perMessageDeflate: true });
      const text = jsonText(size, 11);
      const got = collect(client, 1);
      deflates = countDeflates();
      server.publish('t', text);
      const frames = await raw.nextMessage();
      expect(frames.length).toBeGreaterThan(2);
      expect(frames.every((f) => f.payload.length <= 1000)).toBe(true);
      expect(frames.map((f) => [f.rsv1, f.opcode])).toEqual([
        [true, 0x1],
        ...frames.slice(1).map(() => [false, 0x0]),
      ]);
      expect(frames.map((f) => f.fin)).toEqual(frames.map((_f, i) => i === frames.length - 1));
      expect(inflateMessage(frames).toString() === text).toBe(true);
      expect(named(await got, { text })).toEqual(['text']);
      expect(deflates.count).toBe(1);
    },
  );

  it('gives each kind of subscriber the right message: shared, own window, context takeover, no deflate', async () => {
    const { server, open } = await topicServer({
      perMessageDeflate: { serverNoContextTakeover: false },
    });
    const [sharing] = await open(3, { perMessageDeflate: { serverNoContextTakeover: true } });
    const [window10] = await open(2, {
      perMessageDeflate: { serverNoContextTakeover: true, serverMaxWindowBits: 10 },
    });
    const [takeover] = await open(2, { perMessageDeflate: true });
    const [plain] = await open(2, { perMessageDeflate: false });
    expect(negotiated(sharing[0])).toEqual({ server_no_context_takeover: true });
    expect(negotiated(window10[0])).toEqual({
      server_no_context_takeover: true,
      server_max_window_bits: 10,
    });
    expect(negotiated(takeover[0])).toEqual({});
    expect(negotiated(plain[0])).toBeUndefined();
    const all = [...sharing, ...window10, ...takeover, ...plain];
    const text = jsonText(6000, 5);
    const bytes = Buffer.from(jsonText(5000, 9));
    const got = all.map((c) => collect(c, 4));
    deflates = countDeflates();
    const wsCompress = spyOnWsCompress();
    for (const data of [text, bytes, 'short', text]) expect(server.publish('t', data)).toBe(9);
    for (const received of await Promise.all(got)) {
      expect(named(received, { text, bytes, short: 'short' })).toEqual([
        'text',
        'bytes',
        'short',
        'text',
      ]);
    }
    // Per message over the threshold: one for the 15-bit window, one for the 10-bit one, and one
    // per context-takeover client (ws compresses every message for those, 'short' too).
    expect(wsCompress.count()).toBe(2 * 4);
    expect(deflates.count).toBe(3 * (2 + 2) + 2);
  });

  it('keeps order behind a send that ws is still compressing for the connection', async () => {
    const { server, open } = await topicServer({ perMessageDeflate: true });
    const [[client, other], [conn]] = await open(2, { perMessageDeflate: true });
    const sent = jsonText(200 * 1024, 1);
    const published = jsonText(2000, 2);
    const got = [collect(client, 2), collect(other, 1)];
    deflates = countDeflates();
    const wsCompress = spyOnWsCompress();
    conn.sink.next(sent);
    // ws's sender holds `sent` (compressing it on the thread pool): the publish must wait.
    expect(server.publish('t', published)).toBe(2);
    expect(named(await got[0], { sent, published })).toEqual(['sent', 'published']);
    expect(named(await got[1], { sent, published })).toEqual(['published']);
    // `sent` and `published` compressed by ws for `conn`; `published` once more, shared, for `other`.
    expect(wsCompress.count()).toBe(2);
    expect(deflates.count).toBe(3);
  });

  it('keeps order while a large publish is compressed on the thread pool, then sends the queued ones', async () => {
    const { server, open } = await topicServer({ perMessageDeflate: true });
    const [[client], [conn]] = await open(1, { perMessageDeflate: true });
    const large = jsonText(SYNC_DEFLATE_LIMIT + 1, 4);
    const after = jsonText(3000, 8);
    const small = jsonText(2000, 6);
    const got = collect(client, 4);
    deflates = countDeflates();
    const wsCompress = spyOnWsCompress();
    server.publish('t', large);
    expect(conn.readyToSend).toBe(false);
    conn.sink.next(after);
    server.publish('t', small);
    server.publish('t', 'tiny');
    expect(conn.stats.queuedMessages).toBe(3);
    expect(named(await got, { large, after, small, tiny: 'tiny' })).toEqual([
      'large',
      'after',
      'small',
      'tiny',
    ]);
    // `after` went through ws (compressed by it); `small` came out of the queue while ws still
    // held `after`, so ws compressed it too, behind it; `tiny` is under the threshold.
    expect(wsCompress.count()).toBe(2);
    expect(deflates.count).toBe(3);
    expect(conn.stats.messagesOut).toBe(4);
  });

  it('delivers a burst of large publishes, compressed a few at a time, in order and once each', async () => {
    const { server, open } = await topicServer({ perMessageDeflate: true });
    const [clients] = await open(3, { perMessageDeflate: true });
    const burst = Array.from({ length: 12 }, (_, n) => jsonText(SYNC_DEFLATE_LIMIT + 1 + n, n));
    const known = Object.fromEntries(burst.map((text, n) => [`#${n}`, text]));
    const got = clients.map((c) => collect(c, burst.length));
    deflates = countDeflates();
    for (const text of burst) expect(server.publish('t', text)).toBe(3);
    for (const received of await Promise.all(got)) {
      expect(named(received, known)).toEqual(Object.keys(known));
    }
    expect(deflates.count).toBe(burst.length);
  });

  it('holds queued publishes under the queue bound and overflow policy while one is compressed', async () => {
    const { server, open } = await topicServer({
      perMessageDeflate: true,
      maxQueue: { messages: 2 },
      overflow: 'drop-newest',
    });
    const [[client], [conn]] = await open(1, { perMessageDeflate: true });
    const large = jsonText(2 * SYNC_DEFLATE_LIMIT, 2);
    const got = collect(client, 3);
    deflates = countDeflates();
    server.publish('t', large);
    const [one, two, three] = [1, 2, 3].map((n) => jsonText(1500, n));
    for (const text of [one, two, three]) server.publish('t', text);
    expect(conn.stats.drops).toMatchObject({ 'drop-newest': 1 });
    expect(named(await got, { large, one, two, three })).toEqual(['large', 'one', 'two']);
    expect(deflates.count).toBe(3);
  });

  it('sends a publish still being compressed before the close that follows it', async () => {
    const { server, open } = await topicServer({ perMessageDeflate: true });
    const [[client], [conn]] = await open(1, { perMessageDeflate: true });
    const large = jsonText(4 * SYNC_DEFLATE_LIMIT, 3);
    const got = collect(client, 1);
    const closed = new Promise<number>((resolve) => client.once('close', resolve));
    server.publish('t', large);
    void conn.disconnect(1000);
    expect(named(await got, { large })).toEqual(['large']);
    expect(await closed).toBe(1000);
  });
});

/**
 * An independent inflater: Python's `websockets` (Debian's python3-websockets, which pretest
 * makes sure of), offering permessage-deflate as it does by default. Prints the extension the
 * server answered and, for each of `count` messages, its kind, length and SHA-256.
 */
const PYTHON_SCRIPT = String.raw`
import asyncio, hashlib, json, sys, websockets

async def main(url, count):
    out = {'messages': []}
    async with websockets.connect(url, max_size=None) as ws:
        out['extensions'] = ws.response_headers.get('Sec-WebSocket-Extensions')
        print(json.dumps({'open': True}), flush=True)
        for _ in range(count):
            m = await ws.recv()
            b = m.encode() if isinstance(m, str) else m
            out['messages'].append([isinstance(m, str), len(b), hashlib.sha256(b).hexdigest()])
    print(json.dumps(out), flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
`;

function pythonClient(
  url: string,
  count: number,
): { opened: Promise<void>; result: Promise<string> } {
  const child = spawn('/usr/bin/python3', ['-c', PYTHON_SCRIPT, url, String(count)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const failed = (code: number | null): Error =>
    new Error(`python websockets client exited ${code}: ${err}`);
  const opened = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('{"open": true}')) resolve();
    });
    exited.then((code) => reject(failed(code)), reject);
  });
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const result = exited.then((code) => {
    if (code !== 0) throw failed(code);
    return out.split('\n').filter(Boolean).pop()!;
  });
  // Awaited by the test; when `opened` fails first, this one's failure is the same.
  result.catch(() => undefined);
  return { opened, result };
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

describe('shared compression and an independent client (Python websockets)', () => {
  it('is accepted and inflated: one frame, frames cut by maxFrameSize, binary, thread-pool size', async () => {
    const { server, url } = await topicServer({ perMessageDeflate: true, maxFrameSize: 4096 });
    const messages: Array<string | Buffer> = [
      jsonText(3000, 1),
      jsonText(40 * 1024, 2),
      Buffer.from(jsonText(5000, 3)),
      jsonText(3 * SYNC_DEFLATE_LIMIT, 4),
    ];
    const opened = firstValueFrom(server.connections$);
    const python = pythonClient(`${url}/py`, messages.length);
    await opened;
    await python.opened;
    deflates = countDeflates();
    for (const m of messages) expect(server.publish('t', m)).toBe(1);
    const result = JSON.parse(await python.result) as {
      extensions: string;
      messages: Array<[boolean, number, string]>;
    };
    expect(result.extensions).toBe('permessage-deflate; server_no_context_takeover');
    expect(result.messages).toEqual(
      messages.map((m) => [typeof m === 'string', Buffer.byteLength(m), sha256(m)]),
    );
    expect(deflates.count).toBe(4);
  }, 30_000);
});

describe('perMessageDeflate negotiation', () => {
  it('answers server_no_context_takeover to a client that did not ask for it, by default', async () => {
    const { port } = await topicServer({ perMessageDeflate: true });
    const raw = await RawDeflateClient.open(port, 'permessage-deflate; client_max_window_bits');
    expect(raw.extensions).toBe('permessage-deflate; server_no_context_takeover');
  });

  it('with serverNoContextTakeover: false, answers it only to a client that asks', async () => {
    const { port } = await topicServer({ perMessageDeflate: { serverNoContextTakeover: false } });
    const plain = await RawDeflateClient.open(port, 'permessage-deflate');
    const asking = await RawDeflateClient.open(
      port,
      'permessage-deflate; server_no_context_takeover',
    );
    expect([plain.extensions, asking.extensions]).toEqual([
      'permessage-deflate',
      'permessage-deflate; server_no_context_takeover',
    ]);
  });
});
