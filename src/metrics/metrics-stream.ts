import { Observable } from 'rxjs';
import { InvalidArgumentError, show } from '../errors';
import { nodeClock, type Clock } from '../util/clock';
import { trafficRates, type ServerMetrics, type ServerStats } from './server-stats';

/** The longest delay `setInterval()` takes; Node runs a longer one every millisecond. */
const MAX_INTERVAL = 2 ** 31 - 1;

/** What times `metricsStream()`: Node's timers and clock, or the `scheduler` option's. */
export interface MetricsTiming {
  readonly clock: Clock;
  /** Milliseconds, for the time between two emissions. */
  now(): number;
}

const NODE_TIMING: MetricsTiming = { clock: nodeClock, now: () => performance.now() };

/**
 * `server.metrics$(intervalMs)`: every `intervalMs`, `snapshot()` with when it was taken and the
 * traffic rates since the previous emission. Cold: one timer per subscription (with Node's
 * timers, unref'd: it does not keep the process alive), cleared on unsubscribe. Completes when
 * `ended` completes (and at once when it already has).
 * @throws {InvalidArgumentError} at the call, for an interval that is not a positive number of
 *   milliseconds up to 2^31-1.
 */
export function metricsStream(
  snapshot: () => ServerStats,
  intervalMs: number,
  ended: Observable<unknown>,
  timing: MetricsTiming = NODE_TIMING,
): Observable<ServerMetrics> {
  if (typeof intervalMs !== 'number' || !(intervalMs > 0 && intervalMs <= MAX_INTERVAL)) {
    throw new InvalidArgumentError(
      `metrics$(): intervalMs must be a positive number of milliseconds up to ${MAX_INTERVAL}, got ${show(intervalMs)}`,
    );
  }
  return new Observable<ServerMetrics>((subscriber) => {
    const end = (): void => subscriber.complete();
    subscriber.add(ended.subscribe({ complete: end, error: end }));
    if (subscriber.closed) return;
    let previous = snapshot();
    // Rates over the time that really passed: a timer fires late on a busy event loop.
    let previousAt = timing.now();
    const timer = timing.clock.setInterval(() => {
      let metrics: ServerMetrics;
      try {
        const current = snapshot();
        const now = timing.now();
        metrics = Object.freeze({
          ...current,
          at: Date.now(),
          interval: trafficRates(previous, current, now - previousAt),
        });
        previous = current;
        previousAt = now;
      } catch (err) {
        subscriber.error(err);
        return;
      }
      subscriber.next(metrics);
    }, intervalMs);
    subscriber.add(() => timing.clock.clear(timer));
  });
}
