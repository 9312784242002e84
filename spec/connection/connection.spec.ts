import { filter, firstValueFrom, from, lastValueFrom, take, toArray } from 'rxjs';
import WebSocket from 'ws';
import {
  CloseCode,
  InvalidArgumentError,
  SendError,
  type Connection,
  type LogEntry,
  type RxwsError,
} from '../../src';
import { Op, closePayload, frame } from '../helpers/frames';
import { RawClient, tcpConnect, upgradeRequest } from '../helpers/raw';
import { cleanup, clientClosed, nextMessage, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

async function connected(options: Parameters<typeof startServer>[0] = {}) {
  const { server, url, port } = await startServer(options);
  const opened = firstValueFrom(server.connections$);
  const ws = await openClient(url);
  return { server, url, port, ws, conn: await opened };
}

async function rawConnected(options: Parameters<typeof startServer>[0] = {}) {
  const { server, port, url } = await startServer(options);
  const opened = firstValueFrom(server.connections$);
  const raw = await RawClient.open(port);
  return { server, port, url, raw, conn: await opened };
}

/** Fakes setTimeout and clearTimeout only: sockets, immediates, intervals and Date stay real. */
function fakeSetTimeout(): void {
  jest.useFakeTimers({
    doNotFake: [
      'Date',
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
    ],
  });
}

/** Lets the server handle I/O: one round trip on another connection of the same server. */
async function roundTrip(url: string): Promise<void> {
  const other = await openClient(url);
  const pong = new Promise((r) => other.once('pong', r));
  other.ping();
  await pong;
  other.terminate();
}

describe('Connection', () => {
  it('describes both ends and the request', async () => {
    const { server, port, url } = await startServer();
    const opened = firstValueFrom(server.connections$);
    const ws = await openClient(`${url}/room/7?x=1`, [], { headers: { 'X-App': 'spec' } });
    const conn = await opened;
    const clientPort = (ws as unknown as { _socket: { localPort: number } })._socket.localPort;
    expect(conn).toMatchObject({
      id: '1',
      remoteAddress: '127.0.0.1',
      remotePort: clientPort,
      localAddress: '127.0.0.1',
      localPort: port,
      protocol: '',
      connected: true,
      state: 'OPEN',
    });
    expect(conn.request.url).toBe('/room/7?x=1');
    expect(conn.request.host).toBe(`127.0.0.1:${port}`);
    expect(conn.request.headers['x-app']).toBe('spec');
    expect(server.connections.get('1')).toBe(conn);
  });

  it('gives each connection the local address its client reached, on a wildcard bind too', async () => {
    const { server, port } = await startServer({ host: '0.0.0.0' });
    const seen: Connection[] = [];
    server.connections$.subscribe((c) => seen.push(c));
    const a = await openClient(`ws://127.0.0.1:${port}`);
    const b = await openClient(`ws://127.0.0.2:${port}`);
    expect(seen.map((c) => [c.localAddress, c.localPort])).toEqual([
      ['127.0.0.1', port],
      ['127.0.0.2', port],
    ]);
    const closed = firstValueFrom(seen[1].closed$);
    b.close();
    await closed;
    a.terminate();
    // Still there once the socket is gone.
    expect([seen[1].localAddress, seen[1].localPort]).toEqual(['127.0.0.2', port]);
  });

  it('gives every connection its own id', async () => {
    const { server, url } = await startServer();
    const ids = lastValueFrom(server.connections$.pipe(take(3), toArray()));
    for (let i = 0; i < 3; i++) await openClient(url);
    expect(new Set((await ids).map((c) => c.id)).size).toBe(3);
  });

  describe('sink', () => {
    it('echoes text as text and binary as binary', async () => {
      const { ws, conn } = await connected();
      conn.messages$.subscribe((m) => conn.sink.next(m.data));
      let reply = nextMessage(ws);
      ws.send('héllo');
      expect(await reply).toEqual({ data: Buffer.from('héllo'), isBinary: false });
      reply = nextMessage(ws);
      ws.send(Buffer.from([0, 1, 2, 255]));
      expect(await reply).toEqual({ data: Buffer.from([0, 1, 2, 255]), isBinary: true });
    });

    it('delivers messages with their format and eom', async () => {
      const { ws, conn } = await connected();
      const messages = firstValueFrom(conn.messages$.pipe(take(2), toArray()));
      ws.send('a');
      ws.send(Buffer.from('b'));
      expect((await messages).map((m) => [m.data, m.format, m.eom, m.connection])).toEqual([
        ['a', 'text', true, conn],
        [Buffer.from('b'), 'binary', true, conn],
      ]);
    });

    it('sends Uint8Array, ArrayBuffer and explicit formats', async () => {
      const { ws, conn } = await connected();
      const got = new Promise<Array<[string, boolean]>>((resolve) => {
        const all: Array<[string, boolean]> = [];
        ws.on('message', (d: Buffer, b: boolean) => {
          all.push([d.toString(), b]);
          if (all.length === 4) resolve(all);
        });
      });
      conn.sink.next(new Uint8Array([0x61, 0x62]));
      conn.sink.next(new Uint8Array([0x63, 0x64]).buffer);
      conn.sink.next({ data: 'as binary', format: 'binary' });
      conn.sink.next({ data: Buffer.from('as text'), format: 'text' });
      expect(await got).toEqual([
        ['ab', true],
        ['cd', true],
        ['as binary', true],
        ['as text', false],
      ]);
    });

    it('takes a source piped straight in and closes with 1000 when it completes', async () => {
      const { ws, conn } = await connected();
      const received: string[] = [];
      ws.on('message', (d: Buffer) => received.push(d.toString()));
      const closed = clientClosed(ws);
      from(['one', 'two', 'three']).subscribe(conn.sink);
      expect(await closed).toEqual({ code: 1000, reason: '' });
      expect(received).toEqual(['one', 'two', 'three']);
      expect(await firstValueFrom(conn.closed$)).toEqual({
        code: 1000,
        reason: '',
        wasClean: true,
      });
    });

    it('closes with the error closeCode, or 1011', async () => {
      const a = await connected();
      const closedA = clientClosed(a.ws);
      a.conn.sink.error(Object.assign(new Error('policy'), { closeCode: 4002 }));
      expect((await closedA).code).toBe(4002);
      const b = await connected();
      const closedB = clientClosed(b.ws);
      b.conn.sink.error(new Error('bug'));
      expect((await closedB).code).toBe(CloseCode.INTERNAL_ERROR);
    });

    it('reports data that reaches it after close on errors$ and logs$', async () => {
      const { server, ws, conn } = await connected();
      const logs: LogEntry[] = [];
      const errors: RxwsError[] = [];
      server.logs$.subscribe((e) => logs.push(e));
      server.errors$.subscribe((e) => errors.push(e));
      const done = firstValueFrom(conn.closed$);
      ws.close();
      await done;
      conn.sink.next('too late');
      expect(errors.map((e) => [e.code, e.connectionId])).toEqual([['ERR_NOT_OPEN', conn.id]]);
      expect(logs.filter((e) => e.type === 'send-after-close').map((e) => e.message)).toEqual([
        `connection ${conn.id}: 8 bytes reached the sink after close and were not sent`,
      ]);
    });

    it('reports a value it cannot send with ERR_INVALID_DATA', async () => {
      const { server, conn } = await connected();
      const error = firstValueFrom(server.errors$);
      conn.sink.next(42 as never);
      expect(await error).toMatchObject({
        code: 'ERR_INVALID_DATA',
        message:
          'sink received a value that cannot be sent: cannot send 42: expected a string, Buffer, Uint8Array or ArrayBuffer',
      });
    });
  });

  describe('send', () => {
    it('resolves once the data is handed to the socket', async () => {
      const { ws, conn } = await connected();
      const reply = nextMessage(ws);
      await expect(conn.send(Buffer.from([9, 8]))).resolves.toBeUndefined();
      expect(await reply).toEqual({ data: Buffer.from([9, 8]), isBinary: true });
      const text = nextMessage(ws);
      await conn.sendText('plain');
      expect(await text).toEqual({ data: Buffer.from('plain'), isBinary: false });
      const asText = nextMessage(ws);
      await conn.send('x', { format: 'binary' });
      expect((await asText).isBinary).toBe(true);
    });

    it('rejects with ERR_NOT_OPEN once the connection is closing or closed', async () => {
      const { ws, conn } = await connected();
      const closing = conn.disconnect();
      const err = await conn.send('x').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SendError);
      expect((err as SendError).code).toBe('ERR_NOT_OPEN');
      await closing;
      await expect(conn.sendText('x')).rejects.toMatchObject({ code: 'ERR_NOT_OPEN' });
      expect(ws.readyState).toBeGreaterThanOrEqual(WebSocket.CLOSING);
    });

    it('rejects bad input with InvalidArgumentError', async () => {
      const { conn } = await connected();
      await expect(conn.send({} as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(conn.sendText(5 as never)).rejects.toThrow('sendText() takes a string, got 5');
      await expect(conn.send({ data: 'x', format: 'utf8' as never })).rejects.toThrow(
        'format must be "text" or "binary", got "utf8"',
      );
    });

    it('rejects with ERR_TIMEOUT when the client stops reading for `timeout` seconds', async () => {
      const { raw, conn } = await rawConnected({ defaultTimeout: 1, outBufferSize: 1024 });
      expect(conn.timeout).toBe(1);
      raw.socket.pause();
      const big = Buffer.alloc(32 * 1024 * 1024);
      // The send timeout is one setTimeout: faked, while the sockets run for real, so the test
      // moves the clock by the timeout once the socket is full instead of waiting 1 s.
      fakeSetTimeout();
      let a: SendError;
      let b: SendError;
      try {
        const full = firstValueFrom(conn.readyToSend$.pipe(filter((r) => !r)));
        const first = conn.send(big).catch((e: unknown) => e);
        const queued = conn.send('after').catch((e: unknown) => e);
        await full;
        jest.advanceTimersByTime(1000);
        [a, b] = (await Promise.all([first, queued])) as SendError[];
      } finally {
        jest.useRealTimers();
      }
      expect(a.code).toBe('ERR_TIMEOUT');
      expect(a.message).toBe(
        `send on connection ${conn.id} made no progress for 1 s; it may still be delivered if the client reads again`,
      );
      expect(b.code).toBe('ERR_TIMEOUT');
      expect(b.message).toBe(
        `send on connection ${conn.id} made no progress for 1 s; nothing of it was sent`,
      );
      raw.destroy();
    });

    it('checks the timeout it is given', async () => {
      const { conn } = await connected();
      expect(() => (conn.timeout = -1)).toThrow(
        'timeout must be a non-negative integer number of seconds, got -1',
      );
    });
  });

  describe('with a raw client writing hand-made frames', () => {
    it('echoes masked text and binary frames, and a fragmented message', async () => {
      const { raw, conn } = await rawConnected();
      conn.messages$.subscribe((m) => conn.sink.next(m.data));
      raw.write(frame(Op.TEXT, 'hello'));
      expect(await raw.nextFrame()).toEqual({
        fin: true,
        opcode: Op.TEXT,
        payload: Buffer.from('hello'),
      });
      raw.write(frame(Op.BINARY, Buffer.from([1, 2, 3])));
      expect(await raw.nextFrame()).toEqual({
        fin: true,
        opcode: Op.BINARY,
        payload: Buffer.from([1, 2, 3]),
      });
      raw.write(
        Buffer.concat([
          frame(Op.TEXT, 'frag', { fin: false }),
          frame(Op.PING, 'p'),
          frame(Op.CONT, 'mented'),
        ]),
      );
      expect(await raw.nextFrame()).toEqual({
        fin: true,
        opcode: Op.PONG,
        payload: Buffer.from('p'),
      });
      expect(await raw.nextFrame()).toEqual({
        fin: true,
        opcode: Op.TEXT,
        payload: Buffer.from('fragmented'),
      });
    });

    it('answers the client close frame with the same code and reports it', async () => {
      const { raw, conn } = await rawConnected();
      raw.write(frame(Op.CLOSE, closePayload(4000, 'bye')));
      expect(await raw.nextFrame()).toEqual({
        fin: true,
        opcode: Op.CLOSE,
        payload: closePayload(4000, 'bye'),
      });
      expect(await firstValueFrom(conn.closed$)).toEqual({
        code: 4000,
        reason: 'bye',
        wasClean: true,
      });
    });

    it('never sends data after the close frame once the client has closed', async () => {
      const { raw, conn } = await rawConnected();
      raw.write(frame(Op.CLOSE, closePayload(1000)));
      expect((await raw.nextFrame())?.opcode).toBe(Op.CLOSE);
      expect(conn.connected).toBe(false);
      await expect(conn.send('late')).rejects.toMatchObject({ code: 'ERR_NOT_OPEN' });
      await firstValueFrom(conn.closed$);
      expect(await raw.nextFrame()).toBeNull();
    });

    it('reports 1005 for a close frame without a code', async () => {
      const { raw, conn } = await rawConnected();
      raw.write(frame(Op.CLOSE));
      expect(await firstValueFrom(conn.closed$)).toEqual({
        code: 1005,
        reason: '',
        wasClean: true,
      });
    });

    it('reports 1006 when the client drops the socket', async () => {
      const { raw, conn } = await rawConnected();
      raw.destroy();
      expect(await firstValueFrom(conn.closed$)).toEqual({
        code: 1006,
        reason: '',
        wasClean: false,
      });
    });
  });

  describe('disconnect', () => {
    it('waits for the close response when waitForCloseResponse is true', async () => {
      // A long closeTimeout: the client's close frame may be read late on a loaded machine.
      const { raw, conn } = await rawConnected({
        waitForCloseResponse: true,
        closeTimeout: 60_000,
      });
      const closed = conn.disconnect(4100, 'later');
      expect(conn.state).toBe('CLOSING');
      expect(await raw.nextFrame()).toEqual({
        fin: true,
        opcode: Op.CLOSE,
        payload: closePayload(4100, 'later'),
      });
      expect(raw.closed).toBe(false);
      raw.write(frame(Op.CLOSE, closePayload(4100, 'later')));
      expect(await closed).toEqual({ code: 4100, reason: 'later', wasClean: true });
      expect(conn.state).toBe('CLOSED');
      expect(conn.connected).toBe(false);
    });

    it('closes the socket right after the close frame when waitForCloseResponse is false', async () => {
      const { raw, conn } = await rawConnected({
        waitForCloseResponse: false,
        closeTimeout: 60000,
      });
      const closed = conn.disconnect();
      expect(await raw.nextFrame()).toEqual({
        fin: true,
        opcode: Op.CLOSE,
        payload: closePayload(1000),
      });
      await raw.whenClosed();
      expect(await closed).toEqual({ code: 1000, reason: '', wasClean: false });
    });

    it('is safe in every state and resolves the same outcome', async () => {
      const { ws, conn } = await connected();
      const a = conn.disconnect(4001);
      const b = conn.disconnect(4002);
      expect(await a).toEqual({ code: 4001, reason: '', wasClean: true });
      expect(await b).toEqual({ code: 4001, reason: '', wasClean: true });
      expect(await conn.disconnect()).toEqual({ code: 4001, reason: '', wasClean: true });
      expect(ws.readyState).toBe(WebSocket.CLOSED);
    });

    it('sends queued messages before the close frame', async () => {
      const { raw, conn } = await rawConnected({ outBufferSize: 1 });
      for (let i = 0; i < 5; i++) conn.sink.next(`m${i}`);
      const closed = conn.disconnect();
      const seen: string[] = [];
      for (let i = 0; i < 6; i++) {
        const f = (await raw.nextFrame())!;
        seen.push(f.opcode === Op.CLOSE ? 'close' : f.payload.toString());
      }
      expect(seen).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'close']);
      raw.write(frame(Op.CLOSE, closePayload(1000)));
      expect((await closed).wasClean).toBe(true);
    });

    it('rejects a reason over 123 bytes and codes a server may not send', async () => {
      const { conn } = await connected();
      await expect(conn.disconnect(1000, 'é'.repeat(62))).rejects.toThrow(InvalidArgumentError);
      await expect(conn.disconnect(1000, 'é'.repeat(62))).rejects.toThrow(
        `close reason must be a string of at most 123 UTF-8 bytes, got "${'é'.repeat(62)}"`,
      );
      for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
        await expect(conn.disconnect(code)).rejects.toThrow(
          `close code must be 1000-1003, 1007-1014 or 3000-4999, got ${code}`,
        );
      }
      expect(conn.connected).toBe(true);
    });
  });

  describe('a failing connection', () => {
    it.each([
      ['an unmasked frame', frame(Op.TEXT, 'x', { mask: false }), 1002, 'ERR_PROTOCOL'],
      ['an unknown opcode', frame(0x3, 'x'), 1002, 'ERR_PROTOCOL'],
      ['RSV bits without an extension', frame(Op.TEXT, 'x', { rsv: 4 }), 1002, 'ERR_PROTOCOL'],
      [
        'invalid UTF-8',
        frame(Op.TEXT, Buffer.from([0x61, 0xff, 0x62])),
        1007,
        'ERR_INVALID_PAYLOAD',
      ],
      [
        'a message over maxPayload',
        frame(Op.BINARY, Buffer.alloc(2000)),
        1009,
        'ERR_MESSAGE_TOO_BIG',
      ],
    ])(
      'closes on %s, reports it once, and leaves others working',
      async (_name, bad, closeCode, code) => {
        const { server, port, url } = await startServer({ maxPayload: 1024 });
        server.connections$.subscribe((c) => c.messages$.subscribe((m) => c.sink.next(m.data)));
        const errors: RxwsError[] = [];
        server.errors$.subscribe((e) => errors.push(e));
        const healthy = await openClient(url);
        const opened = firstValueFrom(server.connections$);
        const raw = await RawClient.open(port);
        const conn: Connection = await opened;
        const connErrors: RxwsError[] = [];
        conn.errors$.subscribe((e) => connErrors.push(e));

        raw.write(bad);
        const reply = await raw.nextFrame();
        expect(reply?.opcode).toBe(Op.CLOSE);
        expect(reply?.payload.readUInt16BE(0)).toBe(closeCode);
        const info = await firstValueFrom(conn.closed$);
        expect(info.code).toBe(closeCode);
        expect(info.error?.code).toBe(code);

        expect(errors.map((e) => [e.code, e.closeCode, e.connectionId])).toEqual([
          [code, closeCode, conn.id],
        ]);
        expect(connErrors).toEqual(errors);
        const echo = nextMessage(healthy);
        healthy.send('still fine');
        expect((await echo).data.toString()).toBe('still fine');
        expect(server.listening).toBe(true);
      },
    );
  });

  describe('readyToSend$', () => {
    it('emits the current value, then false when a send fills the socket and true once it drains', async () => {
      const { server, port } = await startServer();
      const opened = firstValueFrom(server.connections$);
      const socket = await tcpConnect(port);
      socket.write(upgradeRequest('/', [], port));
      const conn = await opened;
      socket.pause(); // reads nothing: the server's buffers fill
      const seen: boolean[] = [];
      conn.readyToSend$.subscribe((ready) => seen.push(ready));
      expect(seen).toEqual([true]);
      const wentFalse = firstValueFrom(conn.readyToSend$.pipe(filter((r) => !r)));
      conn.sink.next(Buffer.alloc(32 * 1024 * 1024));
      await wentFalse;
      conn.sink.next('queued behind it');
      conn.sink.next('and this');
      await roundTrip(`ws://127.0.0.1:${port}`);
      expect(seen).toEqual([true, false]);
      expect(conn.readyToSend).toBe(false);
      const wentTrue = firstValueFrom(conn.readyToSend$.pipe(filter((r) => r)));
      socket.on('data', () => undefined);
      socket.resume();
      await wentTrue;
      expect(seen).toEqual([true, false, true]);
      socket.destroy();
    });

    it('completes on close', async () => {
      const { ws, conn } = await connected();
      const done = lastValueFrom(conn.readyToSend$.pipe(toArray()));
      ws.close();
      expect(await done).toEqual([true]);
    });
  });

  describe('ping and pongs$', () => {
    it('emits the pong payload', async () => {
      const { conn } = await connected();
      const pong = firstValueFrom(conn.pongs$);
      conn.ping('are you there');
      expect((await pong).toString()).toBe('are you there');
    });

    it('throws ERR_NOT_OPEN after close and refuses over 125 bytes', async () => {
      const { conn } = await connected();
      expect(() => conn.ping(Buffer.alloc(126))).toThrow('ping data must be at most 125 bytes');
      await conn.disconnect();
      expect(() => conn.ping()).toThrow(SendError);
    });
  });

  describe('pause and resume', () => {
    it('stops reading while paused and delivers after resume', async () => {
      const { url, ws, conn } = await connected();
      const got: string[] = [];
      conn.messages$.subscribe((m) => got.push(String(m.data)));
      conn.pause();
      expect(conn.paused).toBe(true);
      ws.send('held');
      await roundTrip(url);
      await roundTrip(url);
      expect(got).toEqual([]);
      const next = firstValueFrom(conn.messages$);
      conn.resume();
      expect(conn.paused).toBe(false);
      expect((await next).data).toBe('held');
    });
  });

  describe('streams', () => {
    it('completes messages$, pongs$ and errors$ on close and replays closed$ to late subscribers', async () => {
      const { ws, conn } = await connected();
      const completed: string[] = [];
      conn.messages$.subscribe({ complete: () => completed.push('messages$') });
      conn.pongs$.subscribe({ complete: () => completed.push('pongs$') });
      conn.errors$.subscribe({ complete: () => completed.push('errors$') });
      ws.close(1000);
      await firstValueFrom(conn.closed$);
      expect(completed).toEqual(['messages$', 'pongs$', 'errors$']);
      expect(await firstValueFrom(conn.closed$)).toEqual({
        code: 1000,
        reason: '',
        wasClean: true,
      });
    });

    it('completes a stream first asked for once the connection has closed, at subscribe', async () => {
      const { server, ws, conn } = await connected();
      const order: string[] = [];
      const seen = firstValueFrom(server.disconnections$);
      server.disconnections$.subscribe(() => {
        conn.messages$.subscribe({ complete: () => order.push('messages$ complete') });
        conn.fragments$.subscribe({ complete: () => order.push('fragments$ complete') });
        order.push('after subscribe');
      });
      ws.close(1000);
      await seen;
      expect(order).toEqual(['messages$ complete', 'fragments$ complete', 'after subscribe']);
    });

    it('carries every connection message on server.messages$', async () => {
      const { server, url } = await startServer();
      const all = firstValueFrom(server.messages$.pipe(take(2), toArray()));
      const a = await openClient(url);
      const b = await openClient(url);
      a.send('from a');
      b.send('from b');
      const messages = await all;
      expect(messages.map((m) => m.data).sort()).toEqual(['from a', 'from b']);
      expect(new Set(messages.map((m) => m.connection.id)).size).toBe(2);
    });

    it('emits disconnections$ while the connection is still in connections', async () => {
      const { server, ws, conn } = await connected();
      const seen = firstValueFrom(server.disconnections$);
      let present = false;
      server.disconnections$.subscribe(
        (d) => (present = server.connections.get(d.connection.id) === d.connection),
      );
      ws.close(4321, 'gone');
      expect(await seen).toMatchObject({
        connection: conn,
        code: 4321,
        reason: 'gone',
        wasClean: true,
      });
      expect(present).toBe(true);
      expect(server.connections.size).toBe(0);
    });
  });
});
