import { Socket } from 'node:net';
import { Writable } from 'node:stream';
import { firstValueFrom } from 'rxjs';
import {
  RxwsWebSocket,
  StreamingReceiver,
  copyWiring,
  incompleteTail,
  isCharacterStart,
  learnWiring,
  unmask,
} from '../../src/connection/receiver';
import { Op, closePayload, frame } from '../helpers/frames';
import { rawConnection } from '../helpers/raw-connection';
import { cleanup } from '../helpers/server';

afterAll(cleanup);

describe('UTF-8 at piece boundaries', () => {
  it.each([
    [[0x61], 0],
    [[0x61, 0xc3], 1],
    [[0xc3, 0xa9], 0],
    [[0xe2, 0x82], 2],
    [[0xe2, 0x82, 0xac], 0],
    [[0xf0, 0x9f, 0x98], 3],
    [[0xf0, 0x9f, 0x98, 0x80], 0],
    [[0x80, 0x80, 0x80], 0],
  ])('incompleteTail(%j) = %i', (bytes, n) => {
    expect(incompleteTail(Buffer.from(bytes))).toBe(n);
  });

  it.each([
    [[0xc3], true],
    [[0xc1], false],
    [[0xe0, 0xa0], true],
    [[0xe0, 0x80], false],
    [[0xed, 0x9f], true],
    [[0xed, 0xa0], false],
    [[0xf0, 0x90, 0x80], true],
    [[0xf0, 0x8f], false],
    [[0xf4, 0x8f], true],
    [[0xf4, 0x90], false],
    [[0xf5], false],
    [[0xe2, 0x82, 0x41], false],
  ])('isCharacterStart(%j) = %s', (bytes, ok) => {
    expect(isCharacterStart(Buffer.from(bytes))).toBe(ok);
  });
});

describe('unmask', () => {
  it('matches a byte-by-byte XOR at every offset and alignment, with and without the addon', () => {
    const mask = Buffer.from([0x11, 0x22, 0x33, 0x44]);
    for (const length of [0, 1, 5, 31, 32, 100, 1000]) {
      for (let align = 0; align < 4; align++) {
        for (let offset = 0; offset < 4; offset++) {
          const backing = Buffer.alloc(length + 8);
          for (let i = 0; i < backing.length; i++) backing[i] = (i * 7) & 0xff;
          const data = backing.subarray(align, align + length);
          const expected = Buffer.from(data).map((b, i) => b ^ mask[(i + offset) & 3]);
          unmask(data, mask, offset);
          expect(Buffer.compare(data, Buffer.from(expected))).toBe(0);
        }
      }
    }
  });
});

describe("ws's close path, without the errors nobody sees", () => {
  afterEach(() => jest.restoreAllMocks());

  it('returns at once from end() on an ended receiver; end(cb) still gets Node’s error', async () => {
    const receiver = new StreamingReceiver({ isServer: true });
    receiver.end();
    await new Promise((r) => receiver.once('finish', r));
    const end = jest.spyOn(Writable.prototype, 'end');
    expect(receiver.end()).toBe(receiver);
    expect(end).not.toHaveBeenCalled();
    const err = await new Promise<unknown>((r) => receiver.end(r));
    expect(end).toHaveBeenCalledTimes(1);
    expect((err as NodeJS.ErrnoException).code).toBe('ERR_STREAM_ALREADY_FINISHED');
  });

  it('ends the server socket once in a close started by the client, and closes cleanly', async () => {
    const { conn, client } = await rawConnection();
    const clientPort = client.socket.localPort;
    const end = jest.spyOn(Socket.prototype, 'end');
    const closed = firstValueFrom(conn.closed$);
    client.write(frame(Op.CLOSE, closePayload(1000)));
    expect(await client.nextFrame()).toMatchObject({ opcode: Op.CLOSE });
    client.socket.end();
    expect(await closed).toEqual({ code: 1000, reason: '', wasClean: true });
    const serverSide = end.mock.contexts.filter((s) => (s as Socket).remotePort === clientPort);
    expect(serverSide).toHaveLength(1);
  });

  it('still ends the server socket when the client ends first, without a close frame', async () => {
    const { conn, client } = await rawConnection();
    const closed = firstValueFrom(conn.closed$);
    client.socket.end();
    await client.whenClosed();
    expect(await closed).toEqual({ code: 1006, reason: '', wasClean: false });
  });
});

describe("learning ws's wiring", () => {
  it('takes the listeners ws gives a receiver and the socket, and refuses anything else', () => {
    const socket = new Socket();
    const ws = new RxwsWebSocket(null as never, undefined, {} as never);
    ws.setSocket(socket, Buffer.alloc(0), { maxPayload: 0 });
    const receiver = (ws as unknown as { _receiver: StreamingReceiver })._receiver;
    expect(receiver).toBeInstanceOf(StreamingReceiver);
    const wired = learnWiring(ws, receiver, socket);
    expect(wired?.receiverListeners.map(([event]) => event)).toEqual([
      'conclude',
      'drain',
      'error',
      'message',
      'ping',
      'pong',
    ]);
    receiver.on('message', () => undefined);
    expect(learnWiring(ws, receiver, socket)).toBeUndefined();
    socket.destroy();
  });

  it('copies symbols and listeners as a whole when the wiring is not the one it knows', () => {
    const from = new StreamingReceiver({ isServer: true });
    const to = new StreamingReceiver({ isServer: true });
    const key = Symbol('linked');
    (from as unknown as Record<symbol, unknown>)[key] = 'ws';
    const onMessage = (): void => undefined;
    from.on('message', onMessage);
    copyWiring(from, to);
    expect((to as unknown as Record<symbol, unknown>)[key]).toBe('ws');
    expect(to.listeners('message')).toEqual([onMessage]);
    expect(from.listenerCount('message')).toBe(0);
  });
});
