import { NEVER, Subject, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ConnectionRefusedError, InvalidArgumentError, limitConnections } from '../../src';

function request(name: string, closed$: Observable<void> = NEVER) {
  const refusals: ConnectionRefusedError[] = [];
  return { name, closed$, refusals, refuse: (r: ConnectionRefusedError) => refusals.push(r) };
}

describe('limitConnections', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('passes at most max requests in flight and frees a place when one closes', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const aClosed = cold<void>('-----x');
      const values = {
        a: request('a', aClosed),
        b: request('b'),
        c: request('c'),
        d: request('d'),
      };
      const requests = hot('-a-b-c---d-|', values);
      expectObservable(requests.pipe(limitConnections(2))).toBe('-a-b-----d-|', values);
      expectSubscriptions(aClosed.subscriptions).toBe('-^----!');
    });
  });

  it('refuses with ERR_MAX_CONNECTIONS, its status and reason', () => {
    const c = request('c');
    scheduler.run(({ cold, expectObservable }) => {
      const values = { a: request('a'), c };
      expectObservable(cold('ac|', values).pipe(limitConnections(1))).toBe('a-|', values);
    });
    expect(c.refusals.map((r) => [r.code, r.status, r.message])).toEqual([
      ['ERR_MAX_CONNECTIONS', 503, 'at most 1 connection'],
    ]);
  });

  it('counts per key', () => {
    const key = (r: { name: string }) => r.name[0];
    const values = {
      a: request('a1'),
      b: request('a2'),
      c: request('b1'),
      d: request('b2'),
    };
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(
        cold('abcd|', values).pipe(
          limitConnections<ReturnType<typeof request>>(1, {
            key,
            status: 429,
            reason: 'one per tenant',
          }),
        ),
      ).toBe('a-c-|', values);
    });
    expect([values.b, values.d].map((r) => [r.refusals[0].status, r.refusals[0].message])).toEqual([
      [429, 'one per tenant'],
      [429, 'one per tenant'],
    ]);
  });

  it('stops listening for closes when unsubscribed', () => {
    const closed = new Subject<void>();
    const sub = new Subject<ReturnType<typeof request>>();
    const subscription = sub.pipe(limitConnections(1)).subscribe();
    sub.next(request('a', closed));
    expect(closed.observed).toBe(true);
    subscription.unsubscribe();
    expect(closed.observed).toBe(false);
  });

  it('errors the stream when key throws', () => {
    const boom = new Error('boom');
    scheduler.run(({ cold, expectObservable }) => {
      const key = () => {
        throw boom;
      };
      expectObservable(cold('a|', { a: request('a') }).pipe(limitConnections(1, { key }))).toBe(
        '#',
        undefined,
        boom,
      );
    });
  });

  it.each([
    [0, {}, 'limitConnections: max must be a positive integer, got 0'],
    [1, { key: 'ip' }, 'limitConnections: key must be a function, got "ip"'],
    [1, { status: 200 }, 'limitConnections: status must be an integer from 300 to 599, got 200'],
    [1, { reason: 5 }, 'limitConnections: reason must be a string, got 5'],
  ])('throws InvalidArgumentError at once for max %p and options %j', (max, options, message) => {
    expect(() => limitConnections(max, options as never)).toThrow(
      new InvalidArgumentError(message),
    );
  });
});
