import { Subject, VirtualTimeScheduler, filter, firstValueFrom, takeWhile, toArray } from 'rxjs';
import { InvalidArgumentError, type ServerMetrics, type ServerStats } from '../../src';
import { metricsStream } from '../../src/metrics/metrics-stream';
import { ServerCounters } from '../../src/metrics/server-stats';
import { cleanup, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

/** Stats whose traffic grows by `step` at each snapshot. */
function growing(step: number): () => ServerStats {
  const zero = new ServerCounters().snapshot([], 0);
  let n = 0;
  return () => {
    const k = n++ * step;
    return { ...zero, messagesIn: k, bytesIn: 10 * k, messagesOut: 2 * k, bytesOut: 20 * k };
  };
}

const badIntervals: Array<[unknown, string]> = [
  [0, '0'],
  [-1, '-1'],
  [NaN, 'NaN'],
  [Infinity, 'Infinity'],
  [2 ** 31, '2147483648'],
  ['1000', '"1000"'],
  [null, 'null'],
];

describe('metricsStream', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it.each(badIntervals)('throws at the call for an interval of %p', (interval, shown) => {
    const call = () => metricsStream(growing(1), interval as number, new Subject<void>());
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(
      `metrics$(): intervalMs must be a positive number of milliseconds up to 2147483647, got ${shown}`,
    );
  });

  it('emits the stats every interval, with when and the rates since the previous emission', () => {
    const seen: ServerMetrics[] = [];
    const sub = metricsStream(growing(5), 500, new Subject<void>()).subscribe((m) => seen.push(m));
    jest.advanceTimersByTime(499);
    expect(seen).toEqual([]);
    jest.advanceTimersByTime(1001);
    // Each 500 ms, messagesIn grows by 5: 10 per second.
    expect(seen.map((m) => [m.messagesIn, m.interval])).toEqual(
      [5, 10, 15].map((messagesIn) => [
        messagesIn,
        { messagesInPerSec: 10, bytesInPerSec: 100, messagesOutPerSec: 20, bytesOutPerSec: 200 },
      ]),
    );
    expect(seen.map((m) => m.at)).toEqual([500, 1000, 1500].map((ms) => seen[0].at - 500 + ms));
    expect(Object.isFrozen(seen[0])).toBe(true);
    expect(Object.isFrozen(seen[0].interval)).toBe(true);
    sub.unsubscribe();
  });

  it('is cold: one timer per subscription, cleared on unsubscribe', () => {
    const metrics$ = metricsStream(growing(1), 1000, new Subject<void>());
    expect(jest.getTimerCount()).toBe(0);
    const a = metrics$.subscribe();
    const b = metrics$.subscribe();
    expect(jest.getTimerCount()).toBe(2);
    a.unsubscribe();
    expect(jest.getTimerCount()).toBe(1);
    b.unsubscribe();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('completes when `ended` completes, clearing its timer', () => {
    const ended = new Subject<void>();
    let completed = false;
    metricsStream(growing(1), 1000, ended).subscribe({ complete: () => (completed = true) });
    ended.complete();
    expect(completed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('completes at once, with no timer, when `ended` has completed', () => {
    const ended = new Subject<void>();
    ended.complete();
    let completed = false;
    metricsStream(growing(1), 1000, ended).subscribe({ complete: () => (completed = true) });
    expect(completed).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
  });

  it.each([
    ['at the subscription', 0, 0],
    ['at an interval', 1, 1000],
  ])('errors when taking the stats throws %s, clearing its timer', (_when, calls, ms) => {
    const boom = new Error('boom');
    let n = 0;
    const stats = growing(1);
    const ended = new Subject<void>();
    const errors: unknown[] = [];
    metricsStream(
      () => {
        if (n++ === calls) throw boom;
        return stats();
      },
      1000,
      ended,
    ).subscribe({ error: (e) => errors.push(e) });
    jest.advanceTimersByTime(ms);
    expect(errors).toEqual([boom]);
    expect(jest.getTimerCount()).toBe(0);
    expect(ended.observed).toBe(false);
  });
});

describe('server.metrics$()', () => {
  it.each(badIntervals)(
    'throws InvalidArgumentError at the call for %p',
    async (interval, shown) => {
      const { server } = await startServer();
      expect(() => server.metrics$(interval as number)).toThrow(
        new InvalidArgumentError(
          `metrics$(): intervalMs must be a positive number of milliseconds up to 2147483647, got ${shown}`,
        ),
      );
    },
  );

  it('does not keep the process alive', async () => {
    const { server } = await startServer();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const sub = server.metrics$(60_000).subscribe();
    expect(timers()).toBe(before);
    sub.unsubscribe();
  });

  it('emits the stats with the rates of what happened in each interval', async () => {
    const { server, url } = await startServer();
    const until = firstValueFrom(
      server.metrics$(10).pipe(
        takeWhile((m) => m.messagesIn < 1, true),
        toArray(),
      ),
    );
    const received = firstValueFrom(server.messages$);
    const ws = await openClient(url);
    ws.send('hello');
    await received;
    const seen = await until;
    const last = seen[seen.length - 1];
    expect(last).toMatchObject({ messagesIn: 1, bytesIn: 5, connections: { open: 1, opened: 1 } });
    // The message arrived in exactly one interval: the last one.
    expect(seen.map((m) => m.interval.messagesInPerSec > 0)).toEqual(
      seen.map((_, i) => i === seen.length - 1),
    );
    for (const m of seen) {
      for (const rate of Object.values(m.interval)) {
        expect(Number.isFinite(rate) && rate >= 0).toBe(true);
      }
    }
    // Taken in order.
    expect(seen.map((m) => m.at)).toEqual(seen.map((m) => m.at).sort((a, b) => a - b));
  });

  it('completes when shutdown() has finished, and at once after', async () => {
    const { server } = await startServer();
    let completed = false;
    server.metrics$(10).subscribe({ complete: () => (completed = true) });
    await firstValueFrom(server.metrics$(10).pipe(filter((m) => m.connections.open === 0)));
    const shutdown = server.shutdown();
    expect(completed).toBe(false);
    await shutdown;
    expect(completed).toBe(true);
    const late: ServerMetrics[] = [];
    let lateCompleted = false;
    server
      .metrics$(10)
      .subscribe({ next: (m) => late.push(m), complete: () => (lateCompleted = true) });
    expect([late, lateCompleted]).toEqual([[], true]);
  });
});

describe('server.metrics$() with the scheduler option', () => {
  it('emits on the scheduler, with rates over virtual time', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { server, url } = await startServer({ scheduler });
    const seen: ServerMetrics[] = [];
    server.metrics$(2000).subscribe((m) => seen.push(m));
    const ws = await openClient(url);
    const arrived = firstValueFrom(server.messages$);
    ws.send('hello');
    await arrived;
    scheduler.maxFrames = 4000;
    scheduler.flush();
    expect(seen.map((m) => [m.messagesIn, m.interval.messagesInPerSec])).toEqual([
      [1, 0.5],
      [1, 0],
    ]);
  });
});
