import { TestScheduler } from 'rxjs/testing';
import { allowedClients, ConnectionRefusedError, InvalidArgumentError } from '../../src';

function request(remoteAddress: string) {
  const refusals: ConnectionRefusedError[] = [];
  return {
    remoteAddress,
    refusals,
    refuse: (reason: ConnectionRefusedError) => refusals.push(reason),
  };
}

describe('allowedClients', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('passes requests from allowed addresses and refuses the others with ERR_NOT_ALLOWED', () => {
    const values = {
      a: request('10.0.0.7'),
      b: request('192.168.1.20'),
      c: request('10.1.2.3'),
      d: request('::ffff:10.0.0.9'),
      e: request('::1'),
    };
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const requests = hot('--a--b--c--d--e--|', values);
      const result = requests.pipe(allowedClients(['10.0.0.0/24', '192.168.1.*', '::1']));
      expectObservable(result).toBe('--a--b-----d--e--|', values);
      expectSubscriptions(requests.subscriptions).toBe('^----------------!');
    });
    expect(values.c.refusals).toHaveLength(1);
    expect(values.c.refusals[0]).toBeInstanceOf(ConnectionRefusedError);
    expect(values.c.refusals[0].code).toBe('ERR_NOT_ALLOWED');
    expect(values.c.refusals[0].message).toBe('10.1.2.3 is not in allowedClients');
    for (const r of [values.a, values.b, values.d, values.e]) expect(r.refusals).toEqual([]);
  });

  it('passes everyone when the list is empty', () => {
    const values = { a: request('1.2.3.4'), b: request('2001:db8::1') };
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b|', values).pipe(allowedClients([]))).toBe('a-b|', values);
    });
  });

  it('reads a comma-separated string like IPWorks AllowedClients', () => {
    const values = { a: request('127.0.0.1'), b: request('127.0.0.2') };
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b|', values).pipe(allowedClients('127.0.0.1, ::1'))).toBe(
        'a--|',
        values,
      );
    });
    expect(values.b.refusals.map((r) => r.code)).toEqual(['ERR_NOT_ALLOWED']);
  });

  it('unsubscribes from its source when the subscriber unsubscribes', () => {
    const values = { a: request('127.0.0.1') };
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const requests = hot('--a--a--a--|', values);
      expectObservable(requests.pipe(allowedClients(['127.0.0.1'])), '^----!').toBe(
        '--a---',
        values,
      );
      expectSubscriptions(requests.subscriptions).toBe('^----!');
    });
  });

  it('passes errors through', () => {
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(
        cold<ReturnType<typeof request>>('--#', {}, new Error('boom')).pipe(
          allowedClients(['::1']),
        ),
      ).toBe('--#', {}, new Error('boom'));
    });
  });

  it('throws InvalidArgumentError at once for an invalid entry', () => {
    expect(() => allowedClients(['10.0.0.1', 'nope'])).toThrow(
      new InvalidArgumentError(
        'allowedClients: "nope" is not an IP address, wildcard or CIDR block',
      ),
    );
  });
});
