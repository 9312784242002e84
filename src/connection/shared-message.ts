import * as zlib from 'node:zlib';
import { Opcode, encodeFrame } from '../protocol/frame';

/** RSV1 in a frame's first byte: the message is compressed (RFC 7692 section 6). */
const RSV1 = 0x40;
/** The empty stored block a sync flush ends with, removed from a message (RFC 7692 7.2.1). */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * Messages up to this many bytes are compressed with `deflateRawSync()`, on the event loop;
 * longer ones with `deflateRaw()`, on libuv's thread pool, while the subscribers wait in order.
 * Measured on the bench machine (2 vCPUs, Node 20.20.2, JSON-like text, window 15, level 6;
 * medians): deflateRawSync 16 us at 256 B and 1 KiB, 22 us at 4 KiB, 67 us at 16 KiB, 0.39 ms
 * at 64 KiB, 2.1 ms at 256 KiB, 9.6 ms at 1 MiB; deflateRaw, from the call to its callback,
 * 0.14-0.16 ms up to 16 KiB, 0.72 ms at 64 KiB, 2.8 ms at 256 KiB, 14 ms at 1 MiB. Up to 64 KiB
 * the synchronous call is sooner done and holds the loop 0.4 ms at most (once per publish, not
 * per subscriber); above it, it would hold the loop about 10 ms per MiB, so the pool does it.
 */
export const SYNC_DEFLATE_LIMIT = 64 * 1024;

/**
 * Compressions on the thread pool at once; later ones wait their turn before their zlib stream
 * is made, so that a burst of large publishes does not hold a deflate state (about 256 KiB with
 * zlib's defaults) for each at the same time (ws limits its own the same way, to 10:
 * https://github.com/websockets/ws/issues/1202). Four: libuv's pool has four threads by default.
 */
const POOL_LIMIT = 4;
let onPool = 0;
const waitingForPool: Array<() => void> = [];

/** Runs `job` once fewer than `POOL_LIMIT` jobs run; `job` calls `done` when it has ended. */
function inPool(job: (done: () => void) => void): void {
  const start = (): void => {
    onPool++;
    job(() => {
      onPool--;
      waitingForPool.shift()?.();
    });
  };
  if (onPool < POOL_LIMIT) start();
  else waitingForPool.push(start);
}

/** Told once a compression on the thread pool has ended. */
export interface DeflateWaiter {
  deflated(): void;
}

/**
 * One message compressed once for every connection whose client inflates with a window of
 * `windowBits` and to which the server promised no context takeover (each message compressed on
 * its own, so the same bytes are right for all of them): raw DEFLATE, sync-flushed, the trailing
 * `00 00 ff ff` removed (RFC 7692 7.2.1). Synchronous up to `SYNC_DEFLATE_LIMIT` bytes, else on
 * the thread pool (`done` false until then).
 */
export class SharedDeflate {
  /** The compressed payload, once `done`; undefined when compression failed. */
  private compressed: Buffer | undefined;
  private _done = false;
  private waiters: DeflateWaiter[] | undefined;
  /** The frames last asked for, and the frame size they were cut for. */
  private cut: { maxFrameSize: number; frames: readonly Buffer[] } | undefined;

  constructor(
    private readonly message: SharedMessage,
    readonly windowBits: number,
  ) {
    const options = { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (message.bytes <= SYNC_DEFLATE_LIMIT) {
      this.finish(zlib.deflateRawSync(message.payload, options));
      return;
    }
    inPool((done) =>
      zlib.deflateRaw(message.payload, options, (err, out) => {
        done();
        // A failure (no memory) leaves `compressed` unset: each connection then sends the
        // message through `ws`, which compresses it for itself.
        this.finish(err ? undefined : out);
        const waiters = this.waiters;
        this.waiters = undefined;
        if (waiters) for (const waiter of waiters) waiter.deflated();
      }),
    );
  }

  /** True once the compression has ended (well or not). */
  get done(): boolean {
    return this._done;
  }

  /** Tells `waiter` once the compression has ended; it has not yet (`done` is false). */
  whenDone(waiter: DeflateWaiter): void {
    (this.waiters ??= []).push(waiter);
  }

  /**
   * The message's frames, compressed: RSV1 on the first frame only (RFC 7692 6.1), cut into
   * frames of at most `maxFrameSize` payload bytes (0: one frame). Undefined when compression
   * failed. Made once per frame size.
   */
  frames(maxFrameSize: number): readonly Buffer[] | undefined {
    const data = this.compressed;
    if (data === undefined) return undefined;
    if (this.cut?.maxFrameSize === maxFrameSize) return this.cut.frames;
    const opcode = this.message.binary ? Opcode.BINARY : Opcode.TEXT;
    const frames: Buffer[] = [];
    let at = 0;
    do {
      const end = maxFrameSize === 0 ? data.length : Math.min(at + maxFrameSize, data.length);
      // encodeFrame() ORs the opcode into the first byte: RSV1 goes in with it.
      const frame = encodeFrame(
        at === 0 ? RSV1 | opcode : Opcode.CONTINUATION,
        at === 0 && end === data.length ? data : data.subarray(at, end),
        end === data.length,
      );
      if (Array.isArray(frame)) frames.push(frame[0], frame[1]);
      else frames.push(frame);
      at = end;
    } while (at < data.length);
    this.cut = { maxFrameSize, frames };
    return frames;
  }

  private finish(out: Buffer | undefined): void {
    this._done = true;
    if (out === undefined) return;
    const n = out.length;
    this.compressed = n >= 4 && out.subarray(n - 4).equals(TRAILER) ? out.subarray(0, n - 4) : out;
  }
}

/**
 * One message on its way to many connections (`fanout()`): framed once for those without an
 * extension, and compressed once per client window size for those whose permessage-deflate lets
 * them share the compression (`SharedDeflate`). Each is made at the first connection that needs
 * it, so a message to connections of one kind makes nothing for the other.
 */
export class SharedMessage {
  /** The message as one plain frame. */
  private plain: Buffer | [Buffer, Buffer] | undefined;
  /** Its compression for the first window size asked for; `others` for the rest (rare). */
  private deflated: SharedDeflate | undefined;
  private others: SharedDeflate[] | undefined;

  /**
   * @param payload the message, as `normalize()` gives it (a string is text).
   * @param bytes its length in bytes (a string's in UTF-8).
   */
  constructor(
    readonly payload: Buffer | string,
    readonly binary: boolean,
    readonly bytes: number,
  ) {}

  /** The message as one uncompressed frame: one buffer, or `[header, payload]` when large. */
  get frame(): Buffer | [Buffer, Buffer] {
    return (this.plain ??= encodeFrame(
      this.binary ? Opcode.BINARY : Opcode.TEXT,
      this.payload,
      true,
      this.bytes,
    ));
  }

  /** The message compressed for clients inflating with `windowBits`; started at the first call. */
  deflate(windowBits: number): SharedDeflate {
    const first = this.deflated;
    if (first === undefined) return (this.deflated = new SharedDeflate(this, windowBits));
    if (first.windowBits === windowBits) return first;
    const others = (this.others ??= []);
    for (const d of others) if (d.windowBits === windowBits) return d;
    const made = new SharedDeflate(this, windowBits);
    others.push(made);
    return made;
  }
}
