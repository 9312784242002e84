import { ConnectionError } from '../errors';
import { CloseCode } from '../protocol/close-codes';

/** A piece of a message, as `fragments$` emits it: text as `string`, binary as `Buffer`. */
export interface FragmentLike {
  readonly data: string | Buffer;
  readonly format: 'text' | 'binary';
  /** True on the last piece of a message. */
  readonly eom: boolean;
}

/** Bytes of one block small pieces are copied into. */
const BLOCK = 64 * 1024;
/** A piece at least this large that owns its memory is kept as it is, not copied. */
const KEEP = 16 * 1024;

/**
 * The bytes of one message being reassembled, held in memory proportional to them however the
 * message is cut: a piece of `KEEP` bytes or more that owns its memory is kept as it is; smaller
 * pieces (and views into larger buffers, such as a socket read) are copied into blocks of
 * `BLOCK` bytes. What it holds is the message's bytes, one object per 16 KiB at most, and one
 * block being filled; never one object per fragment. Text is held as its UTF-8 bytes and
 * decoded once, at the end (as `ws` does).
 */
class ByteCollector {
  private parts: Buffer[] = [];
  private block: Buffer | undefined = undefined;
  private used = 0;
  /** Bytes collected so far. */
  total = 0;

  addBytes(data: Buffer): void {
    this.total += data.length;
    if (data.length >= KEEP && data.buffer.byteLength <= 2 * data.length) {
      this.seal();
      this.parts.push(data);
      return;
    }
    let at = 0;
    while (at < data.length) {
      const block = (this.block ??= Buffer.allocUnsafeSlow(BLOCK));
      const n = data.copy(block, this.used, at);
      at += n;
      this.used += n;
      if (this.used === BLOCK) {
        this.parts.push(block);
        this.block = undefined;
        this.used = 0;
      }
    }
  }

  addText(text: string): void {
    const bytes = Buffer.byteLength(text);
    if (bytes >= KEEP || bytes > BLOCK - this.used) {
      this.addBytes(Buffer.from(text));
      return;
    }
    this.total += bytes;
    const block = (this.block ??= Buffer.allocUnsafeSlow(BLOCK));
    this.used += block.write(text, this.used);
    if (this.used === BLOCK) {
      this.parts.push(block);
      this.block = undefined;
      this.used = 0;
    }
  }

  /** The whole message's bytes; the collector is empty (and holds no block) afterwards. */
  take(): Buffer {
    if (this.used > 0) {
      const held = this.block!.subarray(0, this.used);
      // Alone, a part of the block would keep all of it: copy what it holds.
      this.parts.push(this.parts.length === 0 ? Buffer.from(held) : held);
    }
    const parts = this.parts;
    const total = this.total;
    this.clear();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  }

  clear(): void {
    this.parts = [];
    this.block = undefined;
    this.used = 0;
    this.total = 0;
  }

  /** Before a kept piece: the block's bytes, copied to their own size, so order is kept. */
  private seal(): void {
    if (this.used === 0) return;
    this.parts.push(Buffer.from(this.block!.subarray(0, this.used)));
    this.used = 0;
  }
}

/**
 * The reassembly behind `bufferMessage()` and `conn.messages$`: collects the pieces of one
 * message and gives back the whole message at its last piece. A message that arrived whole (one
 * piece, `eom`) is given back as it is, without a copy. Bounded by `maxSize` bytes and
 * `maxFragments` pieces; the memory it holds is proportional to the bytes (see `ByteCollector`),
 * so the fragment count bounds work, not memory.
 */
export class Reassembler {
  private readonly collector = new ByteCollector();
  /** Bytes of the message so far, as the caller counts them (on the wire, after inflating). */
  private bytes = 0;
  private pieces = 0;
  private format: 'text' | 'binary' | undefined;

  constructor(
    readonly maxSize: number,
    readonly maxFragments: number,
  ) {}

  /** True while pieces of an unfinished message are held. */
  get holding(): boolean {
    return this.format !== undefined;
  }

  /**
   * Takes one piece; returns the whole message at the last piece, else undefined. `bytes` is
   * the piece's size in bytes (UTF-8 for text) when the caller knows it (measured otherwise).
   * @throws {ConnectionError} `ERR_MESSAGE_TOO_BIG` (close code 1009) over `maxSize`,
   *   `ERR_PROTOCOL` (1008) over `maxFragments`, `ERR_INVALID_DATA` (1003) when the pieces of
   *   one message change format. The held pieces are dropped.
   */
  push<F extends FragmentLike>(piece: F, bytes?: number): F | undefined {
    const data = piece.data;
    const size = bytes ?? byteLength(data);
    if (piece.eom && this.format === undefined) {
      this.check(size);
      return piece;
    }
    this.admit(piece.format, size, data.length > 0);
    if (typeof data === 'string') this.collector.addText(data);
    else this.collector.addBytes(data);
    if (!piece.eom) return undefined;
    const whole = this.take();
    return { ...piece, data: piece.format === 'text' ? whole.toString() : whole };
  }

  /**
   * The same for a piece given as bytes (text as its UTF-8 bytes, whole characters): returns the
   * whole message's bytes at its last piece (`data` itself for a message in one piece), else
   * undefined. The connection's path: text is decoded once, by the caller.
   * @throws {ConnectionError} as `push()`.
   */
  pushBytes(
    data: Buffer,
    format: 'text' | 'binary',
    eom: boolean,
    bytes: number,
  ): Buffer | undefined {
    if (eom && this.format === undefined) {
      this.check(bytes);
      return data;
    }
    this.admit(format, bytes, data.length > 0);
    this.collector.addBytes(data);
    return eom ? this.take() : undefined;
  }

  /** Drops a message in progress. */
  reset(): void {
    this.collector.clear();
    this.bytes = 0;
    this.pieces = 0;
    this.format = undefined;
  }

  private check(size: number): void {
    if (size > this.maxSize) this.fail(tooBig(size, this.maxSize));
  }

  /** Checks a piece against the format so far and both bounds, before it is held. */
  private admit(format: 'text' | 'binary', bytes: number, counts: boolean): void {
    if (this.format !== undefined && format !== this.format) {
      this.fail(
        new ConnectionError(
          'ERR_INVALID_DATA',
          `a ${format} piece came in the middle of a ${this.format} message`,
          { closeCode: CloseCode.UNSUPPORTED_DATA },
        ),
      );
    }
    this.format = format;
    this.bytes += bytes;
    this.check(this.bytes);
    if (counts && this.maxFragments > 0 && ++this.pieces > this.maxFragments) {
      this.fail(
        new ConnectionError(
          'ERR_PROTOCOL',
          `message has more than ${this.maxFragments} fragments (maxFragments)`,
          { closeCode: CloseCode.POLICY_VIOLATION },
        ),
      );
    }
  }

  private take(): Buffer {
    const whole = this.collector.take();
    this.reset();
    return whole;
  }

  private fail(err: ConnectionError): never {
    this.reset();
    throw err;
  }
}

function tooBig(size: number, max: number): ConnectionError {
  return new ConnectionError(
    'ERR_MESSAGE_TOO_BIG',
    `message of ${size} bytes or more is over the ${max}-byte limit`,
    { closeCode: CloseCode.MESSAGE_TOO_BIG },
  );
}

function byteLength(data: string | Buffer): number {
  return typeof data === 'string' ? Buffer.byteLength(data) : data.length;
}
