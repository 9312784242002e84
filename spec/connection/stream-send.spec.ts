import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { firstValueFrom, lastValueFrom, of, Subject, toArray } from 'rxjs';
import type WebSocket from 'ws';
import type { Connection, SendError, SendProgress, ServerOptions } from '../../src';
import { frame, Op } from '../helpers/frames';
import { rawConnection } from '../helpers/raw-connection';
import { cleanup, clientClosed, nextMessage, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

const dir = mkdtempSync(join(tmpdir(), 'rxws-send-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function withWs(options: ServerOptions = {}) {
  // A long closeTimeout: a close waits for the message or stream in flight to go out first, and
  // the client may read it slowly on a loaded machine (cleanup terminates the client anyway).
  const { server, url } = await startServer({ closeTimeout: 60_000, ...options });
  const opened = firstValueFrom(server.connections$);
  const client = await openClient(url);
  return { conn: await opened, client };
}

/**
 * A ping from the client and the server's pong: the server has handled its I/O up to the ping,
 * and what it wrote before the pong has reached the client. Resolves early if the client closes.
 */
function pingPong(client: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    client.once('pong', () => resolve());
    client.once('close', () => resolve());
    client.ping();
  });
}

describe('maxFrameSize', () => {
  it('splits a longer message into frames of at most maxFrameSize (continuations)', async () => {
    const { conn, client } = await rawConnection({ maxFrameSize: 4096 });
    await conn.send(Buffer.alloc(10_000, 7));
    await conn.send('short');
    const frames = [];
    for (let i = 0; i < 4; i++) frames.push(await client.nextFrame());
    expect(frames.map((f) => [f?.opcode, f?.fin, f?.payload.length])).toEqual([
      [Op.BINARY, false, 4096],
      [Op.CONT, false, 4096],
      [Op.CONT, true, 1808],
      [Op.TEXT, true, 5],
    ]);
  });

  it('writes a long message frame by frame as the socket drains, so a pong goes between its frames', async () => {
    const { conn, client } = await rawConnection({ maxFrameSize: 16 * 1024 });
    client.socket.pause();
    const SIZE = 32 * 1024 * 1024;
    const sent = conn.send(Buffer.alloc(SIZE, 1));
    const after = conn.send('after');
    // Wait until the server has read the ping (not a fixed time: under load it may take long).
    const pinged = new Promise<void>((r) =>
      (conn as unknown as { ws: { once(e: string, f: () => void): void } }).ws.once('ping', () =>
        r(),
      ),
    );
    client.write(frame(Op.PING, 'hi'));
    await pinged;
    // The server has written what it could since the send: most of the message waits in rxws,
    // not in the socket.
    expect(conn.bufferedAmount).toBeLessThan(SIZE / 4);
    client.socket.resume();
    const frames = [];
    for (;;) {
      const f = await client.nextFrame();
      frames.push([
        f!.opcode,
        f!.fin,
        f!.opcode === Op.PONG ? f!.payload.toString() : f!.payload.length,
      ]);
      if (f!.opcode === Op.TEXT) break;
    }
    await Promise.all([sent, after]);
    const pong = frames.findIndex((f) => f[0] === Op.PONG);
    const data = frames.filter((f) => f[0] !== Op.PONG);
    expect(frames[pong]).toEqual([Op.PONG, true, 'hi']);
    // The pong came after some of the message's frames and before most of them.
    expect(pong).toBeGreaterThan(0);
    expect(pong).toBeLessThan(data.length / 2);
    expect(data).toHaveLength(SIZE / 16384 + 1);
    expect(data.slice(0, 2)).toEqual([
      [Op.BINARY, false, 16384],
      [Op.CONT, false, 16384],
    ]);
    expect(data.slice(-2)).toEqual([
      [Op.CONT, true, 16384],
      [Op.TEXT, true, 5],
    ]);
  }, 30_000);

  it('closes after a long message has gone out whole, when close() is called while it is being written', async () => {
    const { conn, client } = await withWs({ maxFrameSize: 4096 });
    const got = nextMessage(client);
    const closed = clientClosed(client);
    void conn.send(Buffer.alloc(8 * 1024 * 1024, 2));
    void conn.disconnect(1000, 'done');
    expect((await got).data.length).toBe(8 * 1024 * 1024);
    expect(await closed).toEqual({ code: 1000, reason: 'done' });
  });

  it('reaches a real client as one message', async () => {
    const { conn, client } = await withWs({ maxFrameSize: 1000 });
    const got = nextMessage(client);
    conn.sink.next('x'.repeat(5000));
    expect((await got).data.toString()).toBe('x'.repeat(5000));
  });
});

describe('sendStream', () => {
  it('lets a streamed send in flight end before the close frame when disconnect() is called', async () => {
    const { conn, client } = await withWs();
    const got = nextMessage(client);
    const closed = clientClosed(client);
    const source = new Subject<string>();
    const done = lastValueFrom(conn.sendStream(source, { format: 'text' }));
    source.next('part 1, ');
    const disconnected = conn.disconnect(1000, 'bye');
    // A close frame sent early would reach the client before the pong.
    await pingPong(client);
    expect(conn.state).toBe('CLOSING');
    source.next('part 2');
    source.complete();
    expect((await got).data.toString()).toBe('part 1, part 2');
    await done;
    expect(await closed).toEqual({ code: 1000, reason: 'bye' });
    expect((await disconnected).code).toBe(1000);
  });

  it('sends an Observable as one message in fragments and reports progress', async () => {
    const { conn, client } = await rawConnection();
    const progress = await lastValueFrom(
      conn
        .sendStream(of('ab', Buffer.from('cd'), new Uint8Array([0x65])), { format: 'text' })
        .pipe(toArray()),
    );
    expect(progress.map((p) => p.bytesSent)).toEqual([2, 4, 5, 5]);
    const frames = [];
    for (let i = 0; i < 4; i++) frames.push(await client.nextFrame());
    expect(frames.map((f) => [f?.opcode, f?.fin, f?.payload.toString()])).toEqual([
      [Op.TEXT, false, 'ab'],
      [Op.CONT, false, 'cd'],
      [Op.CONT, false, 'e'],
      [Op.CONT, true, ''],
    ]);
  });

  it('ends with the last chunk when the length is declared, and takes async iterables and Readables', async () => {
    const { conn, client } = await withWs();
    async function* chunks() {
      yield 'hel';
      yield 'lo';
    }
    const a = nextMessage(client);
    const pa: SendProgress[] = await lastValueFrom(
      conn.sendStream(chunks(), { format: 'text', length: 5 }).pipe(toArray()),
    );
    expect((await a).data.toString()).toBe('hello');
    expect(pa).toEqual([
      { bytesSent: 3, totalBytes: 5 },
      { bytesSent: 5, totalBytes: 5 },
    ]);
    const b = nextMessage(client);
    const readable = Readable.from([Buffer.from([1, 2]), Buffer.from([3])]);
    await lastValueFrom(conn.sendStream(readable));
    expect([...(await b).data]).toEqual([1, 2, 3]);
    expect((await b).isBinary).toBe(true);
    expect(readable.destroyed).toBe(true);
  });

  it('leaves a Readable open when closeStreamAfterTransfer is false', async () => {
    const { conn, client } = await withWs({ closeStreamAfterTransfer: false });
    // autoDestroy off: Node itself would destroy an ended stream otherwise.
    const readable = new Readable({ read() {}, autoDestroy: false });
    readable.push('abc');
    readable.push(null);
    const got = nextMessage(client);
    await lastValueFrom(conn.sendStream(readable, { format: 'text' }));
    expect((await got).data.toString()).toBe('abc');
    expect(readable.destroyed).toBe(false);
  });

  it('queues other sends behind a streamed send, in order', async () => {
    const { conn, client } = await withWs();
    const received: string[] = [];
    const three = new Promise<void>((resolve) => {
      client.on('message', (d: Buffer) => {
        if (received.push(d.toString()) === 3) resolve();
      });
      client.once('close', () => resolve());
    });
    const source = new Subject<string>();
    conn.sendStream(source, { format: 'text' }).subscribe();
    source.next('stream-1 ');
    void conn.send('after');
    conn.sink.next('after-sink');
    // A send that overtook the stream would reach the client before the pong.
    await pingPong(client);
    source.next('stream-2');
    source.complete();
    await three;
    expect(received).toEqual(['stream-1 stream-2', 'after', 'after-sink']);
  });

  it('fails on a length mismatch; once fragments went out the connection closes with 1011', async () => {
    const { conn, client } = await withWs();
    const closed = clientClosed(client);
    const err = await lastValueFrom(conn.sendStream(of('abc'), { length: 10 })).catch(
      (e: SendError) => e,
    );
    expect((err as SendError).code).toBe('ERR_INVALID_DATA');
    expect((err as SendError).message).toBe(
      'sendStream(): the source delivered 3 bytes, not the declared 10',
    );
    expect((await closed).code).toBe(1011);

    const second = await withWs();
    const more = await lastValueFrom(second.conn.sendStream(of('abc', 'def'), { length: 4 })).catch(
      (e: SendError) => e,
    );
    expect((more as SendError).message).toBe(
      'sendStream(): the source delivered more than the declared 4 bytes',
    );
  });

  it('interrupt() before the first fragment sends nothing and keeps the connection', async () => {
    const { conn, client } = await withWs();
    const source = new Subject<string>();
    const errors: unknown[] = [];
    conn.sendStream(source).subscribe({ error: (e: unknown) => errors.push(e) });
    expect(conn.interrupt()).toBe(true);
    expect((errors[0] as SendError).code).toBe('ERR_INTERRUPTED');
    const got = nextMessage(client);
    await conn.send('still open');
    expect((await got).data.toString()).toBe('still open');
    expect(conn.interrupt()).toBe(false);
  });

  it('interrupt() after the first fragment closes with 1011 and reports it', async () => {
    const { conn, client, errors } = await rawConnection();
    const source = new Subject<string>();
    conn.sendStream(source).subscribe({ error: () => undefined });
    source.next('part');
    const first = await client.nextFrame();
    expect([first?.opcode, first?.fin]).toEqual([Op.BINARY, false]);
    conn.interrupt();
    const close = await client.nextFrame();
    expect(close?.opcode).toBe(Op.CLOSE);
    expect(close?.payload.readUInt16BE(0)).toBe(1011);
    expect(close?.payload.subarray(2).toString()).toBe('send interrupted');
    expect(errors.map((e) => e.code)).toEqual(['ERR_INTERRUPTED']);
  });

  it('unsubscribing cancels like interrupt()', async () => {
    const { conn, client } = await withWs();
    const source = new Subject<string>();
    const sub = conn.sendStream(source).subscribe();
    sub.unsubscribe();
    expect(source.observed).toBe(false);
    const got = nextMessage(client);
    await conn.send('next');
    expect((await got).data.toString()).toBe('next');
  });
});

describe('sendFile', () => {
  it('fails with ERR_FILE before any frame for a missing file; the connection stays open', async () => {
    const { conn, client } = await withWs();
    const err = await lastValueFrom(conn.sendFile(join(dir, 'missing.bin'))).catch(
      (e: SendError) => e,
    );
    expect((err as SendError).code).toBe('ERR_FILE');
    expect(conn.connected).toBe(true);
    const got = nextMessage(client);
    await conn.send('ok');
    expect((await got).data.toString()).toBe('ok');
  });

  it('sends a 256 MiB file to a real ws client (another process) with server RSS growth under 32 MiB', async () => {
    const size = 256 * 1024 * 1024;
    const path = join(dir, 'big.bin');
    const hash = createHash('sha256');
    await new Promise<void>((resolve, reject) => {
      const out = createWriteStream(path);
      out.on('error', reject);
      const block = Buffer.alloc(1024 * 1024);
      let i = 0;
      const write = (): void => {
        while (i < 256) {
          block.fill(i & 0xff);
          hash.update(block);
          i++;
          if (!out.write(Buffer.from(block))) {
            out.once('drain', write);
            return;
          }
        }
        out.end(resolve);
      };
      write();
    });
    const expected = hash.digest('hex');
    const { server, url } = await startServer();
    const opened = firstValueFrom(server.connections$);
    // The client runs in its own process, so its copy of the message is not in our RSS.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const WebSocket = require('ws'); const { createHash } = require('crypto');
         const ws = new WebSocket(process.argv[1], { maxPayload: 0 });
         ws.on('error', (e) => { console.error(e.message); process.exit(1); });
         ws.on('close', () => process.exit(0));
         ws.on('message', (d) => { console.log(JSON.stringify({ length: d.length, sha: createHash('sha256').update(d).digest('hex') })); ws.close(); });`,
        url,
      ],
      { cwd: join(__dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise((r) => child.on('exit', r));
    const conn: Connection = await opened;
    const baseline = process.memoryUsage.rss();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss() - baseline);
    }, 10);
    const progress = await lastValueFrom(
      conn.sendFile(path, { chunkSize: 256 * 1024 }).pipe(toArray()),
    );
    await exited;
    clearInterval(sampler);
    expect(JSON.parse(out)).toEqual({ length: size, sha: expected });
    expect(progress[progress.length - 1]).toEqual({ bytesSent: size, totalBytes: size });
    expect(peak).toBeLessThan(32 * 1024 * 1024);
  }, 120_000);
});
