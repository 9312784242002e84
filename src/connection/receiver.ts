import { isUtf8 } from 'node:buffer';
import { createInflateRaw, type InflateRaw } from 'node:zlib';
import type { WebSocket } from 'ws';
import { unmask } from '../protocol/mask';
import { incompleteTail, isCharacterStart } from '../protocol/utf8';
import {
  ReceiverState,
  WsReceiver,
  receiverOf,
  webSocketWithReceiver,
  type NegotiatedDeflate,
} from './ws-wiring';

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
 * by `RxwsWebSocket` (the server's `WebSocket` class option) in place of the receiver `ws` made,
 * with the same options and listeners, before any byte is read.
 *
 * What it relies on of `ws`'s internals is declared in `ws-wiring.ts` (`ReceiverInternals`), with
 * the spec that fails when a `ws` release changes it.
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
 * Text: a piece of a text message is delivered as bytes that end on a code point boundary (the
 * connection decodes them only for whoever takes pieces, and a reassembled message once); the
 * bytes of a character split across pieces are carried to the next piece. Every piece is
 * validated as it arrives (complete characters with `buffer.isUtf8`, the carried bytes as a
 * possible start of a character), so invalid UTF-8 closes the connection with 1007 as soon as
 * the bytes show it, not at the end of the message.
 */

/** Where pieces go: the connection. */
export interface PieceSink {
  /**
   * One piece of a message, as bytes (text: whole UTF-8 characters, validated): `first` on its
   * first piece, `eom` on its last; `bytes` is its length on the wire (after inflating).
   */
  handlePiece(data: Buffer, binary: boolean, first: boolean, eom: boolean, bytes: number): void;
}

const { GET_INFO, GET_DATA, INFLATING } = ReceiverState;

const EMPTY = Buffer.alloc(0);
/** What RFC 7692 has the sender remove from the end of each compressed message. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** `ws`'s Receiver, streaming the payload of data frames; see the module comment. */
export class StreamingReceiver extends WsReceiver {
  /** @internal where pieces go; set by the connection. */
  sink: PieceSink | undefined;
  /** Payload bytes of the current data frame not yet delivered; -1 between frames. */
  private left = -1;
  /** Bytes of the current frame delivered so far: where the mask cycle stands. */
  private maskOffset = 0;
  /** A message has delivered pieces but not its last: the one place its boundary is tracked. */
  private midMessage = false;
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
      this.handOver(data, true, eom, bytes);
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
    this.handOver(whole, false, eom, bytes);
  }

  private handOver(data: Buffer, binary: boolean, eom: boolean, bytes: number): void {
    const first = !this.midMessage;
    this.midMessage = !eom;
    this.sink?.handlePiece(data, binary, first, eom, bytes);
  }

  /** @internal the bound `ws` checks on each frame header: 0 for none (streaming). */
  setMessageLimit(bytes: number): void {
    this._maxPayload = bytes;
  }
}

/** ws's WebSocket with the streaming receiver swapped in: the server's `WebSocket` class. */
export const RxwsWebSocket = webSocketWithReceiver((options) => new StreamingReceiver(options));

/** The streaming receiver of a WebSocket made by `RxwsWebSocket`. */
export function streamingReceiverOf(ws: WebSocket): StreamingReceiver {
  return receiverOf<StreamingReceiver>(ws);
}
