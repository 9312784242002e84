import { ConnectionError } from '../errors';
import { CloseCode } from '../protocol/close-codes';

/** A piece of a message, as `fragments$` emits it: text as `string`, binary as `Buffer`. */
export interface FragmentLike {
  readonly data: string | Buffer;
  readonly format: 'text' | 'binary';
  /** True on the last piece of a message. */
  readonly eom: boolean;
}

/**
 * The reassembly behind `bufferMessage()` and `conn.messages$`: collects the pieces of one
 * message and gives back the whole message at its last piece. A message that arrived whole (one
 * piece, `eom`) is given back as it is, without a copy. Bounded by `maxSize` bytes and
 * `maxFragments` pieces.
 */
export class Reassembler {
  private parts: Array<string | Buffer> = [];
  private bytes = 0;
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
   * the piece's size when the caller knows it (measured here otherwise).
   * @throws {ConnectionError} `ERR_MESSAGE_TOO_BIG` (close code 1009) over `maxSize`,
   *   `ERR_PROTOCOL` (1008) over `maxFragments`, `ERR_INVALID_DATA` (1003) when the pieces of
   *   one message change format. The held pieces are dropped.
   */
  push<F extends FragmentLike>(piece: F, bytes?: number): F | undefined {
    if (piece.eom && this.format === undefined) {
      const size = bytes ?? byteLength(piece.data);
      if (size > this.maxSize) this.fail(tooBig(size, this.maxSize));
      return piece;
    }
    if (this.format !== undefined && piece.format !== this.format) {
      this.fail(
        new ConnectionError(
          'ERR_INVALID_DATA',
          `a ${piece.format} piece came in the middle of a ${this.format} message`,
          { closeCode: CloseCode.UNSUPPORTED_DATA },
        ),
      );
    }
    this.format = piece.format;
    this.bytes += bytes ?? byteLength(piece.data);
    if (this.bytes > this.maxSize) this.fail(tooBig(this.bytes, this.maxSize));
    if (piece.data.length > 0) this.parts.push(piece.data);
    if (this.maxFragments > 0 && this.parts.length > this.maxFragments) {
      this.fail(
        new ConnectionError(
          'ERR_PROTOCOL',
          `message has more than ${this.maxFragments} fragments (maxFragments)`,
          { closeCode: CloseCode.POLICY_VIOLATION },
        ),
      );
    }
    if (!piece.eom) return undefined;
    const parts = this.parts;
    const format = this.format;
    this.reset();
    const data =
      format === 'text'
        ? (parts as string[]).join('')
        : parts.length === 1
          ? (parts[0] as Buffer)
          : Buffer.concat(parts as Buffer[]);
    return { ...piece, data };
  }

  /** Drops a message in progress. */
  reset(): void {
    this.parts = [];
    this.bytes = 0;
    this.format = undefined;
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
