import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { Connection, reportDrop } from '../connection/connection';
import { CloseCode } from '../protocol/close-codes';
import { InvalidArgumentError, SendError, show } from '../errors';
import { DEFAULT_OPTIONS } from '../options';
import {
  HoldQueue,
  checkQueueLimit,
  isOverflowPolicy,
  type Held,
  type OverflowPolicy,
  type QueueLimit,
} from '../util/hold-queue';

/** Options of `followReadyToSend()`. */
export interface FollowReadyToSendOptions<T> {
  /**
   * The bound of the values held while not ready (bytes as measured by `sizeOf`, and count).
   * Default: the connection's `maxQueue`; for a plain `readyToSend$`, `DEFAULT_OPTIONS.maxQueue`
   * (8 MiB, 10,000 values).
   */
  maxQueue?: Partial<QueueLimit>;
  /**
   * What happens to a value that does not fit. Default: the connection's `overflow`; for a plain
   * `readyToSend$`, `'error'`.
   * - `'drop-newest'`: the value is dropped;
   * - `'drop-oldest'`: the oldest held values are dropped until it fits;
   * - `'error'`: the output errors with a `SendError` `ERR_WOULD_BLOCK`;
   * - `'close'`: the same error, carrying `closeCode` 1008, and a connection target is closed
   *   with 1008 "send queue full" (piped into `conn.sink`, the error closes with 1008 as well).
   */
  overflow?: OverflowPolicy;
  /**
   * A value's size in bytes, counted against `maxQueue.bytes`. Default: the UTF-8 length of a
   * string, the byte length of a Buffer, typed array or ArrayBuffer, or of `{ data }`; 0 for
   * anything else (then only `maxQueue.messages` bounds it).
   */
  sizeOf?: (value: T) => number;
  /** Called with every value the policy drops (besides the count in `conn.stats.drops`). */
  onDrop?: (value: T, policy: OverflowPolicy) => void;
}

/**
 * Lets a source's values through while the connection is ready to send (IPWorks' ReadyToSend) and
 * holds them, in order and bounded, while it is not; releases them on the next ready edge.
 *
 * ```text
 * readyToSend$: t-----f--------t------|
 * source:       -a-b----c-d--e------|
 * followReadyToSend(readyToSend$)
 * result:       -a-b-----------(cde)|   held while false, released in order on true;
 *                                       completes once the held values are out
 * ```
 *
 * It is the same queue as the connection's own send queue (`maxQueue`, `overflow`), placed
 * before `sink` so the values wait as values, before they are framed: with a connection as
 * target, drops are counted in `conn.stats.drops` and reported on `logs$` (type `dropped`).
 * Values are released one at a time while the target stays ready, so a release that fills
 * the socket stops the rest until the next drain. When `readyToSend$` completes (the connection
 * closed), the output completes and held values are dropped: there is nothing left to send
 * them to. An error of the source is passed on at once.
 *
 * @example
 * ```ts
 * import { interval, map } from 'rxjs';
 * import { createServer, followReadyToSend } from 'rxws';
 *
 * const server = createServer({ port: 8080 });
 * server.connections$.subscribe((conn) => {
 *   interval(1)
 *     .pipe(
 *       map((i) => JSON.stringify({ tick: i })),
 *       followReadyToSend(conn, { maxQueue: { messages: 1000 }, overflow: 'drop-oldest' }),
 *     )
 *     .subscribe(conn.sink);
 * });
 * await server.listen();
 * ```
 *
 * @param target A `Connection` (its `readyToSend$`, `maxQueue` and `overflow`), or any
 *   `Observable<boolean>` of readiness (ready until it says otherwise).
 * @param options `maxQueue`, `overflow`, `sizeOf`, `onDrop`; see `FollowReadyToSendOptions`.
 * @throws {InvalidArgumentError} at once for a target or option of the wrong kind.
 */
export function followReadyToSend<T>(
  target: Connection | Observable<boolean>,
  options: FollowReadyToSendOptions<T> = {},
): MonoTypeOperatorFunction<T> {
  const connection = target instanceof Connection ? target : undefined;
  if (!connection && !(target instanceof Observable)) {
    throw new InvalidArgumentError(
      `followReadyToSend() takes a Connection or an Observable<boolean>, got ${show(target)}`,
    );
  }
  const { sizeOf = byteSize, onDrop } = options;
  if (typeof sizeOf !== 'function' || (onDrop !== undefined && typeof onDrop !== 'function')) {
    throw new InvalidArgumentError('followReadyToSend(): sizeOf and onDrop must be functions');
  }
  if (options.overflow !== undefined && !isOverflowPolicy(options.overflow)) {
    throw new InvalidArgumentError(
      `followReadyToSend(): overflow must be "error", "drop-newest", "drop-oldest" or "close", got ${show(options.overflow)}`,
    );
  }
  let fixedLimit: QueueLimit | undefined;
  if (options.maxQueue !== undefined) {
    try {
      fixedLimit = checkQueueLimit(
        'maxQueue',
        options.maxQueue,
        connection?.maxQueue ?? DEFAULT_OPTIONS.maxQueue,
      );
    } catch (err) {
      throw new InvalidArgumentError(`followReadyToSend(): ${(err as Error).message}`);
    }
  }
  const ready$ = connection ? connection.readyToSend$ : (target as Observable<boolean>);

  return (source) =>
    new Observable<T>((subscriber) => {
      let ready = true;
      let sourceDone = false;
      let releasing = false;

      const overflowed = (held: Held<T>, policy: OverflowPolicy): void => {
        if (connection) reportDrop(connection, policy, held.bytes, queue);
        if (policy === 'error' || policy === 'close') {
          subscriber.error(
            new SendError(
              'ERR_WOULD_BLOCK',
              `followReadyToSend: ${queue.length} values (${queue.bytes} bytes) held, no room for another`,
              {
                connectionId: connection?.id,
                closeCode: policy === 'close' ? CloseCode.POLICY_VIOLATION : undefined,
              },
            ),
          );
          return;
        }
        try {
          onDrop?.(held.value, policy);
        } catch (err) {
          subscriber.error(err);
        }
      };
      const queue = new HoldQueue<T>(
        overflowed,
        fixedLimit ?? connection?.maxQueue ?? DEFAULT_OPTIONS.maxQueue,
        options.overflow ?? connection?.overflow ?? DEFAULT_OPTIONS.overflow,
      );

      const release = (): void => {
        if (releasing) return;
        releasing = true;
        try {
          while (ready && queue.length > 0 && !subscriber.closed) {
            subscriber.next(queue.shift()!.value);
          }
        } finally {
          releasing = false;
        }
        if (sourceDone && queue.length === 0) subscriber.complete();
      };

      subscriber.add(
        ready$.subscribe({
          next: (value) => {
            ready = value;
            if (ready) release();
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        }),
      );
      if (subscriber.closed) return undefined;
      subscriber.add(
        source.subscribe({
          next: (value) => {
            if (ready && queue.length === 0) {
              subscriber.next(value);
              return;
            }
            let bytes: number;
            try {
              bytes = sizeOf(value);
            } catch (err) {
              subscriber.error(err);
              return;
            }
            queue.offer(value, bytes);
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            sourceDone = true;
            if (queue.length === 0) subscriber.complete();
          },
        }),
      );
      return () => {
        queue.clear();
      };
    });
}

/** The default `sizeOf`: bytes of what a sink sends, 0 for anything else. */
export function byteSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.byteLength;
  if (value !== null && typeof value === 'object' && 'data' in value) {
    return byteSize((value as { data: unknown }).data);
  }
  return 0;
}
