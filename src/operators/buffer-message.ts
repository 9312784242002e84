import { Observable, type OperatorFunction } from 'rxjs';
import { ConnectionError, InvalidArgumentError, show } from '../errors';
import { CloseCode } from '../connection/close-codes';

/** A piece of a message, as `fragments$` emits it: text as `string`, binary as `Buffer`. */
export interface FragmentLike {
  readonly data: string | Buffer;
  readonly format: 'text' | 'binary';
  /** True on the last piece of a message. */
  readonly eom: boolean;
}

/** Options of `bufferMessage()`. */
export interface BufferMessageOptions {
  /** Largest message, in bytes (UTF-8 bytes for text). Default 104857600 (100 MiB), as `maxPayload`. */
  maxSize?: number;
  /** Most pieces a message may have. Default `maxSize / 64`; 0: no count bound. */
  maxFragments?: number;
}

const DEFAULT_MAX_SIZE = 100 * 1024 * 1024;

/**
 * The reassembly behind `bufferMessage()`: collects the pieces of one message and gives back
 * the whole message at its last piece. A message that arrived whole (one piece, `eom`) is
 * given back as it is, without a copy. The connection uses this same class for `messages$`.
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

/**
 * Reassembles pieces of messages (`fragments$`) into whole messages (IPWorks' BufferMessage),
 * bounded in size: `conn.messages$` is `conn.fragments$.pipe(bufferMessage(...))`.
 *
 * ```text
 * fragments: -a--b--C--D--e--F--|      lower case: eom false; upper case: eom true
 * bufferMessage()
 * messages:  -------X--D--------Y|     X = a+b+C, D as it came (no copy), Y = e+F
 * ```
 *
 * A piece that completes a message by itself passes through untouched. Text pieces are joined
 * as strings, binary pieces concatenated into one Buffer. Over `maxSize` bytes or
 * `maxFragments` pieces the output errors with a `ConnectionError` carrying the close code
 * (1009, 1008), and what was held is dropped: memory never grows past the bound. Pieces left
 * when the source completes (a message without its end) are dropped.
 *
 * @example
 * ```ts
 * import { createServer, bufferMessage } from 'rxws';
 *
 * const server = createServer({ port: 8080, bufferMessage: false });
 * server.connections$.subscribe((conn) => {
 *   conn.fragments$.pipe(bufferMessage({ maxSize: 1024 * 1024 })).subscribe({
 *     next: (msg) => console.log(`${msg.format} message of ${msg.data.length}`),
 *     error: (err) => conn.sink.error(err), // closes with err.closeCode (1009)
 *   });
 * });
 * await server.listen();
 * ```
 *
 * @param options `maxSize` (default 100 MiB), `maxFragments` (default `maxSize / 64`).
 * @throws {InvalidArgumentError} at once for a bound that is not a positive integer.
 */
export function bufferMessage<F extends FragmentLike>(
  options: BufferMessageOptions = {},
): OperatorFunction<F, F> {
  const maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
  if (!Number.isSafeInteger(maxSize) || maxSize < 1) {
    throw new InvalidArgumentError(
      `bufferMessage(): maxSize must be a positive integer, got ${show(maxSize)}`,
    );
  }
  const maxFragments = options.maxFragments ?? Math.floor(maxSize / 64);
  if (!Number.isSafeInteger(maxFragments) || maxFragments < 0) {
    throw new InvalidArgumentError(
      `bufferMessage(): maxFragments must be a non-negative integer, got ${show(maxFragments)}`,
    );
  }
  return (source) =>
    new Observable<F>((subscriber) => {
      const reassembler = new Reassembler(maxSize, maxFragments);
      const subscription = source.subscribe({
        next: (piece) => {
          let whole: F | undefined;
          try {
            whole = reassembler.push(piece);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (whole) subscriber.next(whole);
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        subscription.unsubscribe();
        reassembler.reset();
      };
    });
}
