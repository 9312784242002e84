import { firstValueFrom, map, of, Subject, throwError, timer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { flowControl, InvalidArgumentError, type Pausable } from '../../src';
import { cleanup, openClient, startServer } from '../helpers/server';

/** A target that records when it was paused and resumed, by virtual time. */
function recorder(now: () => number): Pausable & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    pause: () => events.push(`pause@${now()}`),
    resume: () => events.push(`resume@${now()}`),
  };
}

describe('flowControl (marbles)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('processes one at a time and pauses the target while highWaterMark values are pending', () => {
    let target!: ReturnType<typeof recorder>;
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      target = recorder(() => scheduler.now());
      const source = cold('a-b-c-d-------|');
      const slow = (v: string): Observable<string> => timer(5).pipe(map(() => v.toUpperCase()));
      expectObservable(source.pipe(flowControl(target, slow, { highWaterMark: 2 }))).toBe(
        '-----A----B----C----(D|)',
      );
      expectSubscriptions(source.subscriptions).toBe('^-------------!');
    });
    expect(target.events).toEqual(['pause@2', 'resume@15']);
  });

  it('runs up to `concurrency` at once and keeps the results of each', () => {
    let target!: ReturnType<typeof recorder>;
    scheduler.run(({ cold, expectObservable }) => {
      target = recorder(() => scheduler.now());
      const source = cold('(abcd)|');
      const slow = (v: string): Observable<string> => timer(4).pipe(map(() => v.toUpperCase()));
      const op = flowControl(target, slow, { concurrency: 2, highWaterMark: 3 });
      expectObservable(source.pipe(op)).toBe('----(AB)(CD|)');
    });
    // 4 pending at once (2 processing, 2 waiting): paused; at 4 two finish, 2 pending: resumed.
    expect(target.events).toEqual(['pause@0', 'resume@4']);
  });

  it('never pauses a consumer that keeps up', () => {
    const target = recorder(() => 0);
    scheduler.run(({ cold, expectObservable }) => {
      const op = flowControl(target, (v: string) => of(v.toUpperCase()), { highWaterMark: 1 });
      expectObservable(cold('a-b-c|').pipe(op)).toBe('A-B-C|');
    });
    expect(target.events).toEqual([]);
  });

  it('takes Promises and arrays from project, with the index', async () => {
    const target = recorder(() => 0);
    const source = new Subject<string>();
    const out: string[] = [];
    const done = new Promise<void>((resolve) =>
      source
        .pipe(flowControl(target, (v, i) => Promise.resolve(`${v}${i}`)))
        .subscribe({ next: (v) => out.push(v), complete: resolve }),
    );
    source.next('a');
    source.next('b');
    source.complete();
    await done;
    expect(out).toEqual(['a0', 'b1']);
  });

  it('resumes a target it paused when the subscriber unsubscribes, and stops the work', () => {
    let target!: ReturnType<typeof recorder>;
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      target = recorder(() => scheduler.now());
      const inner = cold('-----x|');
      const source = cold('abc-------|');
      const op = flowControl(target, () => inner, { highWaterMark: 2 });
      expectObservable(source.pipe(op), '^--!').toBe('----');
      expectSubscriptions(source.subscriptions).toBe('^--!');
      expectSubscriptions(inner.subscriptions).toBe('^--!');
    });
    expect(target.events).toEqual(['pause@1', 'resume@3']);
  });

  it('errors when project throws or what it returns errors, and resumes the target', () => {
    let target!: ReturnType<typeof recorder>;
    scheduler.run(({ cold, expectObservable }) => {
      target = recorder(() => scheduler.now());
      const boom = new Error('boom');
      const op = flowControl(
        target,
        (v: string) => (v === 'c' ? throwError(() => boom) : timer(3).pipe(map(() => v))),
        { highWaterMark: 2 },
      );
      expectObservable(cold('abc--|').pipe(op)).toBe('---a--(b#)', undefined, boom);
    });
    expect(target.events).toEqual(['pause@1', 'resume@6']);
  });

  it('refuses wrong arguments at once', () => {
    const target = recorder(() => 0);
    const id = (v: unknown) => of(v);
    expect(() => flowControl({} as Pausable, id)).toThrow(InvalidArgumentError);
    expect(() => flowControl(target, 3 as unknown as typeof id)).toThrow(
      'flowControl() needs a project function, got 3',
    );
    expect(() => flowControl(target, id, { concurrency: 0 })).toThrow(
      'flowControl(): concurrency must be a positive integer, got 0',
    );
    expect(() => flowControl(target, id, { concurrency: 4, highWaterMark: 2 })).toThrow(
      'flowControl(): highWaterMark must be an integer of at least concurrency (4), got 2',
    );
  });
});

describe('flowControl (a client that sends faster than the consumer handles)', () => {
  afterEach(cleanup);

  it('pauses the socket so TCP pushes back on the client, and resumes when unsubscribed', async () => {
    const { server, url } = await startServer();
    const opened = firstValueFrom(server.connections$);
    const client = await openClient(url);
    const conn = await opened;
    const handled: number[] = [];
    // 10 messages per second, at most 4 pending.
    const subscription = conn.messages$
      .pipe(
        flowControl(conn, (msg) => timer(100).pipe(map(() => msg.data.length)), {
          highWaterMark: 4,
        }),
      )
      .subscribe((n) => handled.push(n));
    const chunk = Buffer.alloc(64 * 1024);
    const count = 1024; // 64 MiB
    // Checked as a message arrives, once 4 have been handled (400 ms of work): by then the server
    // could have read far more, had pausing not held it back. Not at a fixed time: a resume (in a
    // timer, as a message is done) may have come just before; none comes during a delivery.
    const settled = new Promise<void>((resolve) => {
      const watch = conn.messages$.subscribe(() => {
        if ((handled.length >= 4 && conn.paused) || conn.stats.messagesIn >= count / 4) {
          watch.unsubscribe();
          resolve();
        }
      });
    });
    for (let i = 0; i < count; i++) client.send(chunk);
    await settled;

    expect(conn.paused).toBe(true);
    expect(conn.stats.timesPaused).toBeGreaterThanOrEqual(1);
    expect(handled.length).toBeLessThanOrEqual(9);
    // What the server read is bounded: the kernel's buffers hold some, the client the rest.
    expect(conn.stats.messagesIn).toBeLessThan(count / 4);
    expect(client.bufferedAmount).toBeGreaterThan(32 * 1024 * 1024);

    subscription.unsubscribe();
    expect(conn.paused).toBe(false);
    const all = new Promise<void>((resolve) => {
      const check = conn.messages$.subscribe(() => {
        if (conn.stats.messagesIn === count) {
          check.unsubscribe();
          resolve();
        }
      });
    });
    await all;
    expect(client.bufferedAmount).toBe(0);
  });
});
