import { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { RxwsWebSocket, StreamingReceiver } from '../../src/connection/receiver';
import { copyWiring, learnWiring, missingWsInternals } from '../../src/connection/ws-wiring';

describe('missingWsInternals', () => {
  it('finds every internal of ws that rxws relies on in the installed ws (names any it lacks)', () => {
    expect(missingWsInternals()).toEqual([]);
  });

  it('names what a ws without them would lack', () => {
    const proto = WebSocket.prototype as unknown as Record<string, unknown>;
    const setSocket = proto.setSocket;
    delete proto.setSocket;
    try {
      expect(missingWsInternals()).toEqual(['WebSocket.prototype.setSocket()']);
    } finally {
      proto.setSocket = setSocket;
    }
  });
});

describe('missingWsInternals, the sender and deflate', () => {
  it.each(['Sender', 'PerMessageDeflate'])('names WebSocket.%s when ws lacks it', (name) => {
    const exports = WebSocket as unknown as Record<string, unknown>;
    const saved = exports[name];
    delete exports[name];
    try {
      expect(missingWsInternals()).toEqual([`WebSocket.${name}`]);
    } finally {
      exports[name] = saved;
    }
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
