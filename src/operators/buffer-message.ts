import { Observable, type OperatorFunction } from 'rxjs';
import { InvalidArgumentError, show } from '../errors';
import { Reassembler, type FragmentLike } from '../connection/reassembler';

/** Options of `bufferMessage()`. */
export interface BufferMessageOptions {
  /** Largest message, in bytes (UTF-8 bytes for text). Default 104857600 (100 MiB), as `maxPayload`. */
  maxSize?: number;
  /** Most pieces a message may have. Default `maxSize / 64`; 0: no count bound. */
  maxFragments?: number;
}

const DEFAULT_MAX_SIZE = 100 * 1024 * 1024;

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
