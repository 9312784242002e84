import {
  from,
  Observable,
  type ObservableInput,
  type OperatorFunction,
  type Subscription,
} from 'rxjs';
import { InvalidArgumentError, show } from '../errors';

/** What `flowControl()` pauses: a `Connection`, or anything with `pause()` and `resume()`. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/** Options of `flowControl()`. */
export interface FlowControlOptions {
  /** Values processed at the same time (inner Observables subscribed). Default 1. */
  concurrency?: number;
  /**
   * Pending values (waiting plus being processed) at which the target is paused; it is resumed
   * once fewer are pending. Default 16; at least `concurrency`.
   */
  highWaterMark?: number;
}

/**
 * Processes each value with `project` (at most `concurrency` at a time, like `mergeMap`) and
 * pauses `target` while `highWaterMark` values are pending, resuming it as they are processed:
 * inbound backpressure, so a slow consumer slows the client down through TCP instead of
 * buffering its messages without bound.
 *
 * ```text
 * source:  a-b-c-d-------|        concurrency 1, highWaterMark 2; each value takes 5 frames
 * flowControl(conn, (v) => timer(5).pipe(map(() => v.toUpperCase())), { highWaterMark: 2 })
 * result:  -----A----B----C----(D|)
 * target:  --P------------R       paused at b (a processing, b waiting: 2 pending),
 *                                 resumed at 15 (d processing, nothing waiting: 1 pending)
 * ```
 *
 * The bound: `conn.pause()` stops reading the socket, so the client's sends wait in its own
 * buffers (its `bufferedAmount` grows) and then in the kernel. Messages `ws` had already read
 * when the pause came (at most one socket read, 64 KiB by default) still arrive and wait here,
 * so up to `highWaterMark` plus one read's worth of messages are held. Paused only by this
 * operator: when the subscriber unsubscribes, a target it paused is resumed.
 *
 * @example
 * ```ts
 * import { createServer, flowControl } from 'rxws';
 *
 * const server = createServer({ port: 8080 });
 * server.connections$.subscribe((conn) => {
 *   conn.messages$
 *     .pipe(flowControl(conn, (msg) => saveToDatabase(msg.data), { concurrency: 4 }))
 *     .subscribe();
 * });
 * await server.listen();
 * ```
 *
 * @param target What to pause: usually the connection whose `messages$` is the source.
 * @param project Called with each value and its index; returns what to wait for (Observable,
 *   Promise, array...). A throw or an error of what it returns errors the output.
 * @param options `concurrency` (default 1) and `highWaterMark` (default 16).
 * @throws {InvalidArgumentError} at once for a wrong target, project or option.
 */
export function flowControl<T, R>(
  target: Pausable,
  project: (value: T, index: number) => ObservableInput<R>,
  options: FlowControlOptions = {},
): OperatorFunction<T, R> {
  if (typeof target?.pause !== 'function' || typeof target.resume !== 'function') {
    throw new InvalidArgumentError(
      `flowControl() needs a target with pause() and resume(), got ${show(target)}`,
    );
  }
  if (typeof project !== 'function') {
    throw new InvalidArgumentError(`flowControl() needs a project function, got ${show(project)}`);
  }
  const { concurrency = 1, highWaterMark = Math.max(16, concurrency) } = options;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidArgumentError(
      `flowControl(): concurrency must be a positive integer, got ${show(concurrency)}`,
    );
  }
  if (!Number.isInteger(highWaterMark) || highWaterMark < concurrency) {
    throw new InvalidArgumentError(
      `flowControl(): highWaterMark must be an integer of at least concurrency (${concurrency}), got ${show(highWaterMark)}`,
    );
  }

  return (source) =>
    new Observable<R>((subscriber) => {
      const waiting: T[] = [];
      let waitingHead = 0;
      let active = 0;
      let index = 0;
      let sourceDone = false;
      let paused = false;
      let pumping = false;
      const inners = new Set<Subscription>();

      const pending = (): number => waiting.length - waitingHead + active;

      const start = (value: T): void => {
        let input: ObservableInput<R>;
        try {
          input = project(value, index++);
        } catch (err) {
          subscriber.error(err);
          return;
        }
        active++;
        let done = false;
        let inner: Subscription | undefined = undefined;
        inner = from(input).subscribe({
          next: (result) => subscriber.next(result),
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            done = true;
            active--;
            if (inner) inners.delete(inner);
            pump();
          },
        });
        // An inner that completed synchronously was never added.
        if (!done) inners.add(inner);
      };

      // Starts what concurrency allows, then pauses or resumes; safe to re-enter.
      const pump = (): void => {
        if (pumping) return;
        pumping = true;
        try {
          while (!subscriber.closed && active < concurrency && waitingHead < waiting.length) {
            const value = waiting[waitingHead];
            waiting[waitingHead++] = undefined as T;
            start(value);
          }
        } finally {
          pumping = false;
        }
        if (waitingHead === waiting.length) {
          waiting.length = 0;
          waitingHead = 0;
        }
        if (subscriber.closed) return;
        if (!paused && pending() >= highWaterMark) {
          paused = true;
          target.pause();
        } else if (paused && pending() < highWaterMark) {
          paused = false;
          target.resume();
        }
        if (sourceDone && pending() === 0) subscriber.complete();
      };

      const sourceSubscription = source.subscribe({
        next: (value) => {
          waiting.push(value);
          pump();
        },
        error: (err: unknown) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          pump();
        },
      });

      return () => {
        sourceSubscription.unsubscribe();
        for (const inner of inners) inner.unsubscribe();
        inners.clear();
        waiting.length = 0;
        if (paused) {
          paused = false;
          target.resume();
        }
      };
    });
}
