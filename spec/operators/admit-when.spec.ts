import { TestScheduler } from 'rxjs/testing';
import { admitWhen, ConnectionRefusedError, InvalidArgumentError } from '../../src';

function request(key: string | undefined) {
  const refusals: ConnectionRefusedError[] = [];
  return { key, refusals, refuse: (reason: ConnectionRefusedError) => refusals.push(reason) };
}

describe('admitWhen', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('passes the requests the rule accepts and refuses the others with its status and reason', () => {
    const values = { a: request('k1'), b: request(undefined), c: request('k2') };
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const requests = hot('--a--b--c--|', values);
      const result = requests.pipe(
        admitWhen((r) => r.key !== undefined, { status: 401, reason: 'API key required' }),
      );
      expectObservable(result).toBe('--a-----c--|', values);
      expectSubscriptions(requests.subscriptions).toBe('^----------!');
    });
    expect(values.b.refusals).toHaveLength(1);
    const [refusal] = values.b.refusals;
    expect(refusal).toBeInstanceOf(ConnectionRefusedError);
    expect([refusal.code, refusal.status, refusal.message]).toEqual([
      'ERR_CONNECTION_REFUSED',
      401,
      'API key required',
    ]);
    expect(values.a.refusals).toEqual([]);
    expect(values.c.refusals).toEqual([]);
  });

  it('refuses with 403 "refused" by default', () => {
    const r = request(undefined);
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: r }).pipe(admitWhen(() => false))).toBe('-|');
    });
    expect([r.refusals[0].status, r.refusals[0].message]).toEqual([403, 'refused']);
  });

  it('errors the stream when the rule throws, and unsubscribes its source', () => {
    const boom = new Error('boom');
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const requests = hot('--a--b--|', { a: request('x'), b: request('y') });
      const result = requests.pipe(
        admitWhen((r) => {
          if (r.key === 'y') throw boom;
          return true;
        }),
      );
      expectObservable(result).toBe('--a--#', { a: expect.anything() }, boom);
      expectSubscriptions(requests.subscriptions).toBe('^----!');
    });
  });

  it.each([
    [undefined, undefined, 'admitWhen: rule must be a function, got undefined'],
    [() => true, { status: 200 }, 'admitWhen: status must be an integer from 300 to 599, got 200'],
    [() => true, { reason: 4 }, 'admitWhen: reason must be a string, got 4'],
  ])('throws InvalidArgumentError at once for rule %p and options %j', (rule, options, message) => {
    const call = () => admitWhen(rule as never, options as never);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });
});
