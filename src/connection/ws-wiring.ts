/**
 * Every reach into `ws`'s internals, in one file. rxws streams a client's data frames through a
 * subclass of `ws`'s own `Receiver` (`receiver.ts`) and swaps it in for the receiver `ws` makes;
 * everything that depends on how `ws` is built inside, rather than on its documented API, is
 * declared or done here:
 *
 * - the `Receiver` class (`WebSocket.Receiver`) and the fields and methods of it the streaming
 *   receiver reads, writes and overrides (`ReceiverInternals`), and its parser states;
 * - the negotiated permessage-deflate parameters and threshold (`NegotiatedDeflate`), found in a
 *   WebSocket's `_extensions`;
 * - the state of a WebSocket's `_sender` (`senderIdle()`: not compressing, nothing queued, not
 *   inside a fragmented message), so that a frame compressed once for many connections is written
 *   to a socket only when nothing `ws` was given earlier is still on its way;
 * - `WebSocket.prototype.setSocket()`, overridden to swap the receiver in before any byte is
 *   read, the `_receiver` and `_readyState` fields of a WebSocket;
 * - what `setSocket()` wires: the symbol linking a receiver to its WebSocket, the receiver's six
 *   listeners, and the socket's `'end'` listener (`socketOnEnd`), replaced by one that does not
 *   end an ended socket twice.
 *
 * `missingWsInternals()` checks the static ones; `spec/connection/ws-wiring.spec.ts` runs it and
 * the wiring on a real socket, and fails naming the internal when a `ws` release changes one.
 * Tested with ws 8.23 and later 8.x.
 */
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { ZlibOptions } from 'node:zlib';
import { WebSocket } from 'ws';

/** The fields and methods of `ws`'s Receiver (lib/receiver.js) that rxws relies on. */
export interface ReceiverInternals extends EventEmitter {
  _allowSynchronousEvents: boolean;
  _binaryType: string;
  _extensions: Record<string, unknown>;
  _isServer: boolean;
  _maxBufferedChunks: number;
  _maxFragments: number;
  _maxPayload: number;
  _skipUTF8Validation: boolean;
  _bufferedBytes: number;
  _compressed: boolean;
  _payloadLength: number;
  _mask: Buffer | undefined;
  _masked: boolean;
  _fragmented: number;
  _fin: boolean;
  _opcode: number;
  _totalPayloadLength: number;
  _messageLength: number;
  _numFragments: number;
  _fragments: Buffer[];
  _loop: boolean;
  _state: number;
  _errored: boolean;
  /** Writable's: the stream has been ended / how deep it is corked. */
  readonly writableEnded: boolean;
  readonly writableCorked: number;
  end(...args: unknown[]): this;
  consume(n: number): Buffer;
  startLoop(cb: (err?: Error) => void): void;
  getData(cb: (err?: Error) => void): void;
  createError(
    ctor: ErrorConstructor | RangeErrorConstructor,
    message: string,
    prefix: boolean,
    statusCode: number,
    errorCode: string,
  ): Error;
}

type ReceiverClass = new (options: Record<string, unknown>) => ReceiverInternals;

/** `ws`'s Receiver, the base class of rxws's streaming receiver. */
export const WsReceiver = (WebSocket as unknown as { Receiver: ReceiverClass }).Receiver;

/** `ws`'s receiver parser states (lib/receiver.js) that the streaming receiver sets. */
export const ReceiverState = Object.freeze({ GET_INFO: 0, GET_DATA: 4, INFLATING: 5 });

/**
 * The parts of `ws`'s PerMessageDeflate that rxws reads: the negotiated parameters (the streaming
 * receiver's inflater is configured from them; shared compression reads the server's) and the
 * threshold below which `ws` sends a message uncompressed when the server uses no context
 * takeover.
 */
export interface NegotiatedDeflate {
  params: Record<string, unknown>;
  _options: { zlibInflateOptions?: ZlibOptions };
  _threshold: number;
}

/** The fields of `ws`'s Sender (lib/sender.js) that tell whether it holds anything. */
interface SenderInternals {
  /** DEFAULT (0), DEFLATING (1) or GET_BLOB_DATA (2). */
  _state: number;
  /** Sends waiting while it compresses. */
  _queue: unknown[];
  /** False between the frames of a fragmented message (a send with `fin: false`). */
  _firstFragment: boolean;
}

/** `ws`'s Sender state in which it writes a frame at once (lib/sender.js `DEFAULT`). */
const SENDER_DEFAULT = 0;

/** The fields of `ws`'s WebSocket that rxws reads or sets. */
interface WsInternals {
  _readyState: number;
  _receiver: ReceiverInternals;
  _sender: SenderInternals | null;
  _extensions: Record<string, unknown>;
}

/** The permessage-deflate a connection negotiated, if it did. */
export function negotiatedDeflate(ws: WebSocket): NegotiatedDeflate | undefined {
  return (ws as unknown as WsInternals)._extensions['permessage-deflate'] as
    NegotiatedDeflate | undefined;
}

/**
 * True when `ws`'s sender holds nothing: it is not compressing a message, has no send queued
 * behind one, and is not between the frames of a fragmented message. A frame written to the
 * socket then goes out after everything given to `ws` before (which writes to the socket at
 * once in that state); otherwise it would overtake what `ws` is still compressing.
 */
export function senderIdle(ws: WebSocket): boolean {
  const sender = (ws as unknown as WsInternals)._sender;
  return (
    sender !== null &&
    sender._state === SENDER_DEFAULT &&
    sender._queue.length === 0 &&
    sender._firstFragment
  );
}

/** What `ws` wires to a receiver and a socket, learnt from the first connection. */
interface WsWiring {
  /** The symbol under which `ws` links its receiver, sender and socket to the WebSocket. */
  kWebSocket: symbol;
  /** `ws`'s receiver listeners by event: module-level functions, the same for every socket. */
  receiverListeners: [string, (...args: unknown[]) => void][];
  /** `ws`'s listener for the socket's `'end'`. */
  socketOnEnd: (this: Socket) => void;
}

const RECEIVER_EVENTS = ['conclude', 'drain', 'error', 'message', 'ping', 'pong'];

let wiring: WsWiring | undefined;

/** Reads what `ws`'s `setSocket()` wired, on the first connection only. */
export function learnWiring(
  ws: WebSocket,
  old: ReceiverInternals,
  socket: Socket,
): WsWiring | undefined {
  const kWebSocket = Object.getOwnPropertySymbols(old).find(
    (key) => (old as unknown as Record<symbol, unknown>)[key] === ws,
  );
  const endListeners = socket.listeners('end');
  const receiverListeners: WsWiring['receiverListeners'] = [];
  for (const event of RECEIVER_EVENTS) {
    const listeners = old.listeners(event);
    if (listeners.length !== 1) return undefined;
    receiverListeners.push([event, listeners[0] as (...args: unknown[]) => void]);
  }
  const onEnd = endListeners[endListeners.length - 1];
  if (!kWebSocket || typeof onEnd !== 'function' || onEnd.name !== 'socketOnEnd') return undefined;
  return { kWebSocket, receiverListeners, socketOnEnd: onEnd as WsWiring['socketOnEnd'] };
}

/**
 * The socket's `'end'` listener in place of `ws`'s, which ends the receiver and then the socket
 * (Node 20 builds an unseen `ERR_STREAM_ALREADY_FINISHED` when the socket was already ended, as
 * it is whenever the server sent its close frame first). Same steps, without the second end.
 */
function socketOnEnd(this: Socket): void {
  const w = wiring as WsWiring;
  const ws = (this as unknown as Record<symbol, WsInternals | undefined>)[w.kWebSocket];
  // After 'close' (where ws unlinks the socket) there is nothing left to end.
  if (!ws) return;
  if (!this.writableEnded || this.writableCorked !== 0) {
    w.socketOnEnd.call(this);
    return;
  }
  ws._readyState = WebSocket.CLOSING;
  ws._receiver.end();
}

/** The first connection's wiring did not look as expected: copy it per connection. */
const NO_WIRING: WsWiring = {
  kWebSocket: Symbol('none'),
  receiverListeners: [],
  socketOnEnd: () => undefined,
};

export function copyWiring(old: ReceiverInternals, receiver: ReceiverInternals): void {
  for (const key of Object.getOwnPropertySymbols(old)) {
    (receiver as unknown as Record<symbol, unknown>)[key] = (
      old as unknown as Record<symbol, unknown>
    )[key];
  }
  for (const event of RECEIVER_EVENTS) {
    for (const listener of old.listeners(event)) {
      receiver.on(event, listener as (...args: unknown[]) => void);
    }
  }
  old.removeAllListeners();
}

/** The options `ws` gave the receiver it made, for the one that replaces it. */
function receiverOptions(old: ReceiverInternals): Record<string, unknown> {
  return {
    allowSynchronousEvents: old._allowSynchronousEvents,
    binaryType: old._binaryType,
    extensions: old._extensions,
    isServer: old._isServer,
    maxBufferedChunks: old._maxBufferedChunks,
    // Fragments are not kept by the receiver: their count is bounded where they are kept
    // (the connection's reassembly, `maxFragments`).
    maxFragments: 0,
    maxPayload: old._maxPayload,
    skipUTF8Validation: old._skipUTF8Validation,
  };
}

/** A `ws` WebSocket whose `setSocket()` (internal, called by `handleUpgrade`) can be called. */
export type WiredWebSocket = WebSocket & {
  setSocket(socket: Socket, head: Buffer, options: Record<string, unknown>): void;
};

/** `ws`'s WebSocket class, whose instances are `WiredWebSocket`s. */
export type WiredWebSocketClass = (new (
  ...args: ConstructorParameters<typeof WebSocket>
) => WiredWebSocket) &
  typeof WebSocket;

/**
 * The `WebSocket` class the server gives `ws` (its `WebSocket` option): after `ws` has set up
 * the socket, it swaps `ws`'s receiver for the one `makeReceiver` makes, with the same options
 * and listeners. No byte has been read yet at that point (data arrives on the next tick).
 *
 * The listeners `ws` attaches are module-level functions that find their WebSocket through a
 * symbol; they are read from the first connection's receiver and reused. Should a later `ws`
 * attach anything else (a listener per socket, more events), the check on the first connection
 * fails and every connection copies what it finds, as a whole.
 */
export function webSocketWithReceiver(
  makeReceiver: (options: Record<string, unknown>) => ReceiverInternals,
): WiredWebSocketClass {
  return class RxwsWebSocket extends WebSocket {
    setSocket(socket: Socket, head: Buffer, options: Record<string, unknown>): void {
      (WebSocket.prototype as unknown as WiredWebSocket).setSocket.call(
        this,
        socket,
        head,
        options,
      );
      const self = this as unknown as WsInternals;
      const old = self._receiver;
      const receiver = makeReceiver(receiverOptions(old));
      wiring ??= learnWiring(this, old, socket) ?? NO_WIRING;
      if (wiring === NO_WIRING) {
        copyWiring(old, receiver);
      } else {
        (receiver as unknown as Record<symbol, unknown>)[wiring.kWebSocket] = this;
        for (const [event, listener] of wiring.receiverListeners) receiver.on(event, listener);
        socket.removeListener('end', wiring.socketOnEnd);
        socket.on('end', socketOnEnd);
      }
      // The old receiver is unreachable from here on (nothing writes to it): left to the GC.
      self._receiver = receiver;
    }
  };
}

/** The receiver a WebSocket reads with (the one `webSocketWithReceiver()` swapped in). */
export function receiverOf<R extends ReceiverInternals>(ws: WebSocket): R {
  return (ws as unknown as WsInternals)._receiver as R;
}

const RECEIVER_METHODS = ['consume', 'createError', 'getData', 'startLoop'] as const;
const RECEIVER_FIELDS = [
  '_allowSynchronousEvents',
  '_binaryType',
  '_extensions',
  '_isServer',
  '_maxBufferedChunks',
  '_maxFragments',
  '_maxPayload',
  '_skipUTF8Validation',
  '_bufferedBytes',
  '_compressed',
  '_payloadLength',
  '_mask',
  '_masked',
  '_fragmented',
  '_fin',
  '_opcode',
  '_totalPayloadLength',
  '_messageLength',
  '_numFragments',
  '_fragments',
  '_loop',
  '_state',
  '_errored',
] as const;

/**
 * The internals above that the installed `ws` lacks, by name (`[]` when all are there): the
 * Receiver class, its methods and the fields a new receiver has, `setSocket()`, a new
 * WebSocket's `_readyState`, `_receiver`, `_sender` and `_extensions` slots, the Sender's state
 * fields, and PerMessageDeflate's `params`, `_options` and `_threshold`.
 */
export function missingWsInternals(): string[] {
  const missing: string[] = [];
  if (typeof WsReceiver !== 'function') return ['WebSocket.Receiver'];
  for (const name of RECEIVER_METHODS) {
    if (typeof (WsReceiver.prototype as unknown as Record<string, unknown>)[name] !== 'function') {
      missing.push(`Receiver.prototype.${name}()`);
    }
  }
  const receiver = new WsReceiver({ isServer: true });
  for (const name of RECEIVER_FIELDS) if (!(name in receiver)) missing.push(`Receiver#${name}`);
  if (receiver._state !== ReceiverState.GET_INFO) missing.push('Receiver#_state GET_INFO = 0');
  if (typeof (WebSocket.prototype as unknown as Record<string, unknown>).setSocket !== 'function') {
    missing.push('WebSocket.prototype.setSocket()');
  }
  const ws = new WebSocket(null as never, undefined, {} as never) as unknown as WsInternals;
  if (!('_readyState' in ws)) missing.push('WebSocket#_readyState');
  if (!('_receiver' in ws)) missing.push('WebSocket#_receiver');
  if (!('_sender' in ws)) missing.push('WebSocket#_sender');
  if (typeof ws._extensions !== 'object' || ws._extensions === null) {
    missing.push('WebSocket#_extensions');
  }
  const Sender = (WebSocket as unknown as { Sender?: new (socket: null) => SenderInternals })
    .Sender;
  if (typeof Sender !== 'function') {
    missing.push('WebSocket.Sender');
  } else {
    const sender = new Sender(null);
    if (sender._state !== SENDER_DEFAULT) missing.push('Sender#_state DEFAULT = 0');
    if (!Array.isArray(sender._queue)) missing.push('Sender#_queue');
    if (sender._firstFragment !== true) missing.push('Sender#_firstFragment');
  }
  const Deflate = (
    WebSocket as unknown as { PerMessageDeflate?: new (options: object) => NegotiatedDeflate }
  ).PerMessageDeflate;
  if (typeof Deflate !== 'function') {
    missing.push('WebSocket.PerMessageDeflate');
  } else {
    const deflate = new Deflate({ isServer: true });
    if (typeof deflate._threshold !== 'number') missing.push('PerMessageDeflate#_threshold');
    if (!('params' in deflate)) missing.push('PerMessageDeflate#params');
    if (!('_options' in deflate)) missing.push('PerMessageDeflate#_options');
  }
  return missing;
}
