import { isUtf8 } from 'node:buffer';
import type { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { createInflateRaw, type InflateRaw, type ZlibOptions } from 'node:zlib';
import { WebSocket } from 'ws';

/**
 * Frame-level access to what a client sends, for `fragments$`: a subclass of `ws`'s own
 * `Receiver` that delivers a data frame's payload as it comes off the socket, piece by piece,
 * instead of waiting for the whole message (or the whole frame).
 *
 * Why a subclass rather than a decoder of our own: `ws`'s receiver already does every protocol
 * check (RSV bits, opcodes, masking, control frame rules, close codes, payload limits, its
 * buffered-chunk bound) and its `WebSocket` already does what follows from them (answering
 * pings, the close handshake, mapping errors to close codes). The subclass replaces only the step
 * that reads a data frame's payload (`getData`, and with it the inflating and delivery that ws
 * does after it), so frame headers, control frames and errors still take `ws`'s paths, unchanged. It is installed
 * by `RxwsWebSocket.setSocket()` (the server's `WebSocket` class option) in place of the receiver
 * `ws` made, with the same options and listeners, before any byte is read.
 *
 * What it relies on of `ws`'s internals (pinned by the specs, ws ^8.23): the fields and methods
 * in `ReceiverInternals` below, and that `socketOnData` writes to `websocket._receiver`.
 *
 * Compressed messages (permessage-deflate) are streamed too: the compressed bytes go through
 * the receiver's own raw inflater as they arrive, and its output is delivered in zlib's chunks
 * (16 KiB), so neither a large compressed frame nor a highly compressible one is held whole.
 * While a piece is being inflated the receiver holds its write callback, as `ws` does, so the
 * socket is paused. The inflater follows the negotiated parameters (`client_max_window_bits`,
 * `client_no_context_takeover`) as `ws`'s own does; unlike `ws`'s, it does not queue behind
 * `ws`'s process-wide limit of 10 concurrent zlib jobs: each connection has at most one job in
 * flight.
 *
 * Text: a piece of a text message is delivered as a string that ends on a code point boundary;
 * the bytes of a character split across pieces are carried to the next piece. Every piece is
 * validated as it arrives (complete characters with `buffer.isUtf8`, the carried bytes as a
 * possible start of a character), so invalid UTF-8 closes the connection with 1007 as soon as
 * the bytes show it, not at the end of the message.
 */

/** Where pieces go: the connection. */
export interface PieceSink {
  /** One piece of a message; `bytes` is its length on the wire (after inflating). */
  handlePiece(data: Buffer | string, binary: boolean, eom: boolean, bytes: number): void;
}

interface ReceiverInternals extends EventEmitter {
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

const Receiver = (WebSocket as unknown as { Receiver: ReceiverClass }).Receiver;

// ws's receiver states (lib/receiver.js).
const GET_INFO = 0;
const GET_DATA = 4;
const INFLATING = 5;

const EMPTY = Buffer.alloc(0);
/** What RFC 7692 has the sender remove from the end of each compressed message. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The parts of `ws`'s PerMessageDeflate the inflater is configured from. */
interface NegotiatedDeflate {
  params: Record<string, unknown>;
  _options: { zlibInflateOptions?: ZlibOptions };
}

/** `ws`'s Receiver, streaming the payload of data frames; see the module comment. */
export class StreamingReceiver extends Receiver {
  /** @internal where pieces go; set by the connection. */
  sink: PieceSink | undefined;
  /** Payload bytes of the current data frame not yet delivered; -1 between frames. */
  private left = -1;
  /** Bytes of the current frame delivered so far: where the mask cycle stands. */
  private maskOffset = 0;
  /** Bytes of a character cut at the end of the previous text piece. */
  private carry: Buffer | undefined;
  /** permessage-deflate: the inflater, made on the first compressed frame. */
  private inflater: InflateRaw | undefined;
  /** The inflater's latest output, held back so the message's last piece can carry `eom`. */
  private inflated: Buffer | undefined;
  /** The socket write callback held while inflating (errors from the inflater go to it). */
  private inflating: ((err?: Error) => void) | undefined;

  /**
   * Ends the receiver, as Writable does; ending one that is already ended, without a callback,
   * returns at once. `ws` ends its receiver after a close frame, again on the socket's `'end'`
   * and again on its `'close'`, and Node's `end()` on a finished stream builds an
   * `ERR_STREAM_ALREADY_FINISHED` (a stack trace) that, with no callback to take it, nobody sees:
   * about 7% of the server's CPU when connections open and close at full speed.
   */
  override end(...args: unknown[]): this {
    if (args.length === 0 && this.writableEnded && this.writableCorked === 0) return this;
    return super.end(...args);
  }

  override getData(cb: (err?: Error) => void): void {
    // Control frames take ws's path.
    if (this._opcode > 0x07) {
      super.getData(cb);
      return;
    }
    if (this.left === -1) {
      this.left = this._payloadLength;
      this.maskOffset = 0;
    }
    // What is buffered of the frame, up to its end: the whole frame in one piece when it is all
    // here (the usual case for small messages), else what has arrived so far.
    const n = Math.min(this._bufferedBytes, this.left);
    if (n === 0 && this.left > 0) {
      this._loop = false;
      return;
    }
    const data = n === 0 ? EMPTY : this.consume(n);
    if (this._masked && n > 0) unmask(data, this._mask!, this.maskOffset);
    this.left -= n;
    this.maskOffset += n;
    const frameDone = this.left === 0;
    if (frameDone) {
      this.left = -1;
      this._mask = undefined;
    }
    const eom = frameDone && this._fin;
    if (this._compressed) {
      // An empty piece that ends nothing says nothing: skip it.
      if (n === 0 && !eom) {
        this._state = GET_INFO;
        return;
      }
      this.inflate(data, frameDone, eom, cb);
      return;
    }
    if (frameDone) this._state = GET_INFO;
    // Everything buffered was consumed; wait for the next chunk.
    else this._loop = false;
    if (n === 0 && !eom) return;
    this.deliver(data, eom, cb);
  }

  /**
   * Inflates one piece of a compressed frame, delivering the output as it comes. Sets the state
   * to INFLATING, which makes ws's loop return without calling `cb` (the socket's write
   * callback): the socket stays paused until the output is out, then the loop resumes here.
   */
  private inflate(data: Buffer, frameDone: boolean, eom: boolean, cb: (err?: Error) => void): void {
    const inflater = (this.inflater ??= this.createInflater());
    this._state = INFLATING;
    this.inflating = cb;
    inflater.write(data);
    if (eom) inflater.write(TRAILER);
    inflater.flush(() => {
      if (this._errored || this.inflater !== inflater) return;
      this.inflating = undefined;
      const last = this.inflated;
      this.inflated = undefined;
      if (last !== undefined || eom) this.deliver(last ?? EMPTY, eom, cb);
      if (this._errored) return;
      if (eom && this.noContextTakeover) inflater.reset();
      if (inflater.readableEnded) this.releaseInflater();
      this._state = frameDone ? GET_INFO : GET_DATA;
      // Waiting for more of the frame: the loop asks the socket for it (no data buffered yet).
      this.startLoop(cb);
    });
  }

  private get noContextTakeover(): boolean {
    const deflate = this._extensions['permessage-deflate'] as NegotiatedDeflate | undefined;
    return deflate?.params.client_no_context_takeover === true;
  }

  private createInflater(): InflateRaw {
    const deflate = this._extensions['permessage-deflate'] as NegotiatedDeflate;
    const bits = deflate.params.client_max_window_bits;
    const inflater = createInflateRaw({
      ...deflate._options.zlibInflateOptions,
      windowBits: typeof bits === 'number' ? bits : 15,
    });
    inflater.on('data', (chunk: Buffer) => {
      const cb = this.inflating;
      if (this._errored || !cb) return;
      this._messageLength += chunk.length;
      if (this._maxPayload > 0 && this._messageLength > this._maxPayload) {
        this.releaseInflater();
        cb(
          this.createError(
            RangeError,
            'Max payload size exceeded',
            false,
            1009,
            'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
          ),
        );
        return;
      }
      const previous = this.inflated;
      this.inflated = chunk;
      if (previous !== undefined) this.deliver(previous, false, cb);
    });
    inflater.on('error', (err: NodeJS.ErrnoException) => {
      const cb = this.inflating;
      if (this._errored || !cb) return;
      this.releaseInflater();
      cb(this.createError(Error, err.message, false, 1007, err.code ?? 'Z_DATA_ERROR'));
    });
    return inflater;
  }

  /** Closes the inflater, if any (on error, at the end of its stream, when the socket closes). */
  releaseInflater(): void {
    const inflater = this.inflater;
    if (!inflater) return;
    this.inflater = undefined;
    this.inflated = undefined;
    this.inflating = undefined;
    inflater.close();
  }

  /** Validates and hands one piece to the sink; at the end of a message, resets its state. */
  private deliver(data: Buffer, eom: boolean, cb: (err?: Error) => void): void {
    const binary = this._opcode === 0x02;
    const bytes = data.length;
    if (eom) {
      this._totalPayloadLength = 0;
      this._messageLength = 0;
      this._fragmented = 0;
      this._numFragments = 0;
    }
    if (binary) {
      this.sink?.handlePiece(data, true, eom, bytes);
      return;
    }
    let text = data;
    if (this.carry) {
      text = Buffer.concat([this.carry, data]);
      this.carry = undefined;
    }
    let cut = text.length;
    if (!eom) cut -= incompleteTail(text);
    const whole = cut === text.length ? text : text.subarray(0, cut);
    if (!this._skipUTF8Validation) {
      const valid = isUtf8(whole) && (cut === text.length || isCharacterStart(text.subarray(cut)));
      if (!valid) {
        cb(this.createError(Error, 'invalid UTF-8 sequence', true, 1007, 'WS_ERR_INVALID_UTF8'));
        return;
      }
    }
    if (cut < text.length) this.carry = Buffer.from(text.subarray(cut));
    // A piece made only of a cut character waits for the rest.
    if (whole.length === 0 && !eom) return;
    this.sink?.handlePiece(whole.toString(), false, eom, bytes);
  }

  /** @internal the bound `ws` checks on each frame header: 0 for none (streaming). */
  setMessageLimit(bytes: number): void {
    this._maxPayload = bytes;
  }
}

/**
 * How many bytes at the end of `buf` are the start of a character not complete yet (0–3).
 * Three trailing continuation bytes are left to `isUtf8` to judge.
 */
export function incompleteTail(buf: Buffer): number {
  const n = buf.length;
  for (let i = 1; i <= 3 && i <= n; i++) {
    const b = buf[n - i];
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > i ? i : 0;
  }
  return 0;
}

/** True when `bytes` (1–3) can begin a valid UTF-8 character (RFC 3629's table). */
export function isCharacterStart(bytes: Buffer): boolean {
  const lead = bytes[0];
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) return bytes.length < 2;
  if (lead === 0xe0) low = 0xa0;
  else if (lead === 0xed) high = 0x9f;
  else if (lead === 0xf0) low = 0x90;
  else if (lead === 0xf4) high = 0x8f;
  else if (!((lead >= 0xe1 && lead <= 0xef) || (lead >= 0xf1 && lead <= 0xf3))) return false;
  if (bytes.length > 1 && (bytes[1] < low || bytes[1] > high)) return false;
  if (bytes.length > 2 && (bytes[2] & 0xc0) !== 0x80) return false;
  return bytes.length < (lead >= 0xf0 ? 4 : 3);
}

type NativeUnmask = (buffer: Buffer, mask: Buffer) => void;

// The same native masking ws uses when the optional `bufferutil` addon is installed (and not
// disabled with WS_NO_BUFFER_UTIL, as ws honours it).
const nativeUnmask: NativeUnmask | undefined = (() => {
  if (process.env.WS_NO_BUFFER_UTIL) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional addon, loaded if present
    return (require('bufferutil') as { unmask: NativeUnmask }).unmask;
  } catch {
    return undefined;
  }
})();

/** XORs `data` with `mask`, starting `offset` bytes into the mask's cycle. */
export function unmask(data: Buffer, mask: Buffer, offset: number): void {
  if ((mask[0] | mask[1] | mask[2] | mask[3]) === 0) return;
  const shift = offset & 3;
  const key =
    shift === 0
      ? mask
      : Buffer.from([
          mask[shift],
          mask[(shift + 1) & 3],
          mask[(shift + 2) & 3],
          mask[(shift + 3) & 3],
        ]);
  const n = data.length;
  if (nativeUnmask && n >= 32) {
    nativeUnmask(data, key);
    return;
  }
  let i = 0;
  // Bytes until the view is 4-byte aligned, then a word at a time, then the rest.
  while (i < n && ((data.byteOffset + i) & 3) !== 0) {
    data[i] ^= key[i & 3];
    i++;
  }
  const words = (n - i) >>> 2;
  if (words > 0) {
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    const k = new Uint32Array(
      Uint8Array.of(key[i & 3], key[(i + 1) & 3], key[(i + 2) & 3], key[(i + 3) & 3]).buffer,
    )[0];
    for (let w = 0; w < words; w++) view[w] ^= k;
    i += words << 2;
  }
  for (; i < n; i++) data[i] ^= key[i & 3];
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

interface WsInternals {
  _readyState: number;
  _receiver: ReceiverInternals;
}

/**
 * The `WebSocket` class the server gives `ws` (its `WebSocket` option): after `ws` has set up
 * the socket, it swaps `ws`'s receiver for a `StreamingReceiver` with the same options and
 * listeners. No byte has been read yet at that point (data arrives on the next tick).
 *
 * The listeners `ws` attaches are module-level functions that find their WebSocket through a
 * symbol; they are read from the first connection's receiver and reused. Should a later `ws`
 * attach anything else (a listener per socket, more events), the check on the first connection
 * fails and every connection copies what it finds, as a whole.
 */
export class RxwsWebSocket extends WebSocket {
  setSocket(socket: Socket, head: Buffer, options: Record<string, unknown>): void {
    (WebSocket.prototype as unknown as { setSocket: RxwsWebSocket['setSocket'] }).setSocket.call(
      this,
      socket,
      head,
      options,
    );
    const self = this as unknown as WsInternals;
    const old = self._receiver;
    const receiver = new StreamingReceiver({
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
    });
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

  /** @internal the receiver, for the connection to set its sink. */
  get streamingReceiver(): StreamingReceiver {
    return (this as unknown as { _receiver: StreamingReceiver })._receiver;
  }
}
