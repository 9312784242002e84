import { firstValueFrom, of, toArray, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { allowedClients, ConnectionRefusedError, InvalidArgumentError } from '../../src';
import type { HostLookup } from '../../src/transport/host-lookup';

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
    expect(() => allowedClients(['10.0.0.1', 'not a host'])).toThrow(
      new InvalidArgumentError(
        'allowedClients: "not a host" is not an IP address, wildcard, CIDR block or host name',
      ),
    );
    expect(() => allowedClients('10.0.0.300')).toThrow(
      new InvalidArgumentError(
        'allowedClients: "10.0.0.300" is not an IP address, wildcard or CIDR block',
      ),
    );
  });

  it.each([
    [{ refresh: -1 }, '"refresh" must be a non-negative integer number of milliseconds, got -1'],
    [{ refresh: 1.5 }, '"refresh" must be a non-negative integer number of milliseconds, got 1.5'],
    [{ lookup: 'dns' }, '"lookup" must be a function, got "dns"'],
    [{ onLookup: true }, '"onLookup" must be a function, got true'],
    [{ scheduler: {} }, '"scheduler" must be an RxJS scheduler, got an object'],
  ])('throws InvalidArgumentError at once for the option %j', (options, message) => {
    expect(() => allowedClients(['localhost'], options as never)).toThrow(
      new InvalidArgumentError(`allowedClients: ${message}`),
    );
  });

  it('filters any stream of values with a remoteAddress, which it only drops', () => {
    const values = {
      a: { remoteAddress: '127.0.0.1', id: 1 },
      b: { remoteAddress: '10.1.2.3', id: 2 },
      c: { remoteAddress: '::ffff:127.0.0.9', id: 3 },
    };
    scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
      const peers = hot('-a-b-c-|', values);
      // The element type is kept: no refuse() is needed, and none is added.
      const allowed: Observable<{ remoteAddress: string; id: number }> = peers.pipe(
        allowedClients(['127.0.0.0/8']),
      );
      expectObservable(allowed).toBe('-a---c-|', values);
      expectSubscriptions(peers.subscriptions).toBe('^------!');
    });
  });

  it('does not compile for a stream without remoteAddress', () => {
    // @ts-expect-error `port` is not a remote address.
    const wrong = of({ port: 80 }).pipe(allowedClients(['127.0.0.1']));
    expect(wrong).toBeDefined();
  });

  describe('with host names', () => {
    it('holds requests until the first lookup answers, then checks them against its addresses', () => {
      const values = { a: request('127.0.0.1'), b: request('10.1.2.3'), c: request('127.0.0.1') };
      const lookups: string[] = [];
      scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const requests = hot('-ab-----c--|', values);
        const lookup = (host: string) => {
          lookups.push(host);
          return cold('---(x|)', { x: ['127.0.0.1'] });
        };
        const result = requests.pipe(allowedClients(['localhost'], { lookup, refresh: 0 }));
        expectObservable(result).toBe('---a----c--|', values);
        expectSubscriptions(requests.subscriptions).toBe('^----------!');
      });
      expect(lookups).toEqual(['localhost']);
      expect(values.b.refusals.map((r) => [r.code, r.message])).toEqual([
        ['ERR_NOT_ALLOWED', '10.1.2.3 is not in allowedClients'],
      ]);
      expect([...values.a.refusals, ...values.c.refusals]).toEqual([]);
    });

    it('looks up again every refresh ms, keeping the last addresses when a lookup fails', () => {
      const values = {
        a: request('127.0.0.1'),
        b: request('127.0.0.2'),
        c: request('127.0.0.1'),
        d: request('127.0.0.2'),
        e: request('127.0.0.2'),
      };
      const results: HostLookup[] = [];
      const times: number[] = [];
      scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const answers = [
          cold('-(x|)', { x: ['127.0.0.1'] }),
          cold('-(x|)', { x: ['127.0.0.2'] }),
          cold<string[]>('-#', undefined, new Error('lookup failed')),
        ];
        const lookup = () => {
          times.push(scheduler.now());
          return answers.shift()!;
        };
        const requests = hot('5ms ab 7ms cd 7ms e 2ms |', values);
        const result = requests.pipe(
          allowedClients(['localhost'], {
            lookup,
            refresh: 10,
            scheduler,
            onLookup: (r) => results.push(r),
          }),
        );
        expectObservable(result).toBe('5ms a 9ms d 7ms e 2ms |', values);
        expectSubscriptions(requests.subscriptions).toBe('^ 25ms !');
      });
      // One lookup at subscription, one per refresh; none after completion.
      expect(times).toEqual([0, 10, 20]);
      expect(results.map((r) => [r.addresses, r.changed, r.error?.message])).toEqual([
        [['127.0.0.1'], true, undefined],
        [['127.0.0.2'], true, undefined],
        [['127.0.0.2'], false, 'lookup failed'],
      ]);
      expect([values.b, values.c].map((r) => r.refusals.length)).toEqual([1, 1]);
    });

    it('allows nobody for a host name whose lookup never answered', () => {
      const values = { a: request('127.0.0.1'), b: request('10.0.0.1') };
      scheduler.run(({ cold, expectObservable }) => {
        const lookup = () => cold<string[]>('-#', undefined, new Error('ENOTFOUND'));
        expectObservable(
          cold('a-b|', values).pipe(
            allowedClients(['localhost', '10.0.0.0/8'], { lookup, refresh: 0 }),
          ),
        ).toBe('--b|', values);
      });
      expect(values.a.refusals.map((r) => r.code)).toEqual(['ERR_NOT_ALLOWED']);
    });

    it('stops looking up when the subscriber unsubscribes', () => {
      let lookups = 0;
      scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const lookup = () => {
          lookups++;
          return cold('-(x|)', { x: ['127.0.0.1'] });
        };
        const requests = hot<ReturnType<typeof request>>('--------------------|');
        expectObservable(
          requests.pipe(allowedClients(['localhost'], { lookup, refresh: 10, scheduler })),
          '^ 14ms !',
        ).toBe('');
        expectSubscriptions(requests.subscriptions).toBe('^ 14ms !');
      });
      expect(lookups).toBe(2);
    });

    it('passes an error at once, even while requests wait for the first answer', () => {
      const values = { a: request('127.0.0.1') };
      scheduler.run(({ cold, expectObservable }) => {
        const lookup = () => cold('---(x|)', { x: ['127.0.0.1'] });
        expectObservable(
          cold('a#', values, new Error('boom')).pipe(allowedClients(['localhost'], { lookup })),
        ).toBe('-#', values, new Error('boom'));
      });
      expect(values.a.refusals).toEqual([]);
    });

    it('errors when onLookup throws', () => {
      scheduler.run(({ cold, expectObservable }) => {
        const lookup = () => cold('-(x|)', { x: ['127.0.0.1'] });
        const onLookup = () => {
          throw new Error('bad callback');
        };
        expectObservable(
          cold('a---|', { a: request('127.0.0.1') }).pipe(
            allowedClients(['localhost'], { lookup, onLookup, refresh: 0 }),
          ),
        ).toBe('-#', undefined, new Error('bad callback'));
      });
    });

    it('looks localhost up with dns.lookup by default', async () => {
      const [a, b] = [request('127.0.0.1'), request('127.0.0.2')];
      const passed = await firstValueFrom(
        of(a, b).pipe(allowedClients(['localhost'], { refresh: 0 }), toArray()),
      );
      expect(passed).toEqual([a]);
      expect(b.refusals.map((r) => r.code)).toEqual(['ERR_NOT_ALLOWED']);
    });
  });
});
