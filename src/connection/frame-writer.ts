import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { Opcode, encodeFrame } from '../protocol/frame';

/** Called once a frame has been written to the socket, or with the error that stopped it. */
export type WriteCallback = (err?: Error | null) => void;

const BINARY = Object.freeze({ binary: true });
const TEXT = Object.freeze({ binary: false });
const BINARY_PART = Object.freeze({ binary: true, fin: false });
const TEXT_PART = Object.freeze({ binary: false, fin: false });
// Sockets corked during this tick, uncorked together by one process.nextTick: a broadcast to
// 10,000 connections schedules one tick, not 10,000.
let corkedNow: FrameWriter[] = [];

function uncorkAll(): void {
  const list = corkedNow;
  corkedNow = [];
  for (let i = 0; i < list.length; i++) {
    const out = list[i];
    out.corked = false;
    out.socket.uncork();
  }
}

/**
 * Writes a connection's data frames to its socket. Without a negotiated extension, frames are
 * encoded here (`protocol/frame.ts`) and written to the socket, in order with `ws`'s own control
 * frames (pongs, close); with one (permessage-deflate), `ws`'s sender frames and compresses them.
 * A message longer than `maxFrameSize` is split into continuation frames.
 *
 * Coalescing: `ws` writes every frame with its own `socket.write()`, one syscall each. The first
 * frame of a tick corks the socket and a `process.nextTick` (one per tick for all sockets)
 * uncorks it, so every frame sent synchronously while handling one socket read (`ws` parses and
 * emits all the messages of a read synchronously) leaves in one `writev`; a frame sent from a
 * promise callback leaves in a later write, since Node runs the nextTick queue before promise
 * callbacks. `nextTick` rather than `setImmediate`: a reply leaves as soon as its read is
 * handled, not after every other ready socket of the poll phase, which keeps ping-pong latency
 * at `ws`'s level (measured: setImmediate halved ping-pong throughput). See
 * https://nodejs.org/api/stream.html#writablecork.
 */
export abstract class FrameWriter {
  /** @internal the socket is corked until the next tick. */
  corked = false;
  /** Largest frame payload written; 0: no limit (IPWorks' MaxFrameSize). */
  maxFrameSize = 0;
  /** Frames are encoded here and written straight to the socket (no extension to apply). */
  protected readonly direct: boolean;

  /** @internal the connection's socket. */
  readonly socket: Socket;

  constructor(
    protected readonly ws: WebSocket,
    socket: Socket,
  ) {
    this.socket = socket;
    this.direct = ws.extensions === '';
  }

  /** True when a frame written now would not take the socket's buffer past its high-water mark. */
  abstract get canWrite(): boolean;

  protected cork(): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      if (corkedNow.push(this) === 1) process.nextTick(uncorkAll);
    }
  }

  /**
   * Writes `data` from byte `from` as frames of at most `maxFrameSize` bytes (one frame when
   * unlimited; at least one frame); `cb` goes with the last. With `whileWritable`, stops once
   * the socket's buffer is past the high-water mark. Returns where it stopped.
   */
  protected writeFrames(
    data: Buffer,
    binary: boolean,
    first: boolean,
    fin: boolean,
    cb: WriteCallback | undefined,
    from = 0,
    whileWritable = false,
  ): number {
    const max = this.maxFrameSize;
    let at = from;
    do {
      const end = max === 0 ? data.length : Math.min(at + max, data.length);
      const last = end === data.length;
      const opcode =
        first && at === 0 ? (binary ? Opcode.BINARY : Opcode.TEXT) : Opcode.CONTINUATION;
      const payload = at === 0 && last ? data : data.subarray(at, end);
      this.writeFrame(opcode, payload, binary, fin && last, last ? cb : undefined);
      at = end;
    } while (at < data.length && (!whileWritable || this.canWrite));
    return at;
  }

  /**
   * Writes one frame; `bytes`, when the caller has measured a string already, saves measuring
   * it again. Without an extension: one write per frame (ws makes two: header, then payload),
   * text encoded straight into the frame, everything through socket.write() in order with ws's
   * own control frames (pongs, close). With one, ws's sender frames it (and makes continuation
   * frames itself after a send with fin: false).
   */
  protected writeFrame(
    opcode: number,
    payload: Buffer | string,
    binary: boolean,
    fin: boolean,
    cb: WriteCallback | undefined,
    bytes?: number,
  ): void {
    if (!this.direct) {
      this.ws.send(payload, binary ? (fin ? BINARY : BINARY_PART) : fin ? TEXT : TEXT_PART, cb);
      return;
    }
    // Same checks as ws.send(): after ws has sent or received a close frame, no data may follow.
    if (this.ws.readyState !== WebSocket.OPEN) {
      if (cb)
        process.nextTick(cb, new Error(`WebSocket is not open: readyState ${this.ws.readyState}`));
      return;
    }
    this.writeEncoded(encodeFrame(opcode, payload, fin, bytes), cb);
  }

  /** Writes an encoded frame; a `[header, payload]` pair in one writev. */
  protected writeEncoded(frame: Buffer | [Buffer, Buffer], cb: WriteCallback | undefined): void {
    const socket = this.socket;
    if (!Array.isArray(frame)) {
      socket.write(frame, cb);
      return;
    }
    socket.cork();
    socket.write(frame[0]);
    socket.write(frame[1], cb);
    socket.uncork();
  }
}
