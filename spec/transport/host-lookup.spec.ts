import { EMPTY, interval, map, take, timer, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { AllowList } from '../../src/transport/allow-list';
import {
  hostLookupEntry,
  hostLookups,
  lookupAll,
  unrefScheduler,
  type HostLookup,
} from '../../src/transport/host-lookup';

function lookupError(code: string, host: string): Error {
  return Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code });
}

describe('hostLookups', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('looks every host name up at once, then every refresh ms, and emits each round', () => {
    const list = AllowList.compile(['a.test', '10.0.0.0/8', 'b.test']);
    const calls: Array<[string, number]> = [];
    scheduler.run(({ cold, expectObservable }) => {
      const lookup = (host: string) => {
        calls.push([host, scheduler.now()]);
        return cold('---(x|)', { x: host === 'a.test' ? ['10.9.0.1'] : ['fd00::1', '10.8.0.1'] });
      };
      const rounds = hostLookups(list, { lookup, refresh: 10, scheduler }).pipe(
        map((results) =>
          results.map((r) => `${r.host}=${r.addresses.join('+')}${r.changed ? '!' : ''}`),
        ),
      );
      expectObservable(rounds, '^ 25ms !').toBe('---x 9ms y 9ms y', {
        x: ['a.test=10.9.0.1!', 'b.test=fd00::1+10.8.0.1!'],
        y: ['a.test=10.9.0.1', 'b.test=fd00::1+10.8.0.1'],
      });
    });
    expect(calls).toEqual([
      ['a.test', 0],
      ['b.test', 0],
      ['a.test', 10],
      ['b.test', 10],
      ['a.test', 20],
      ['b.test', 20],
    ]);
    expect(['10.9.0.1', '10.8.0.1', 'fd00::1', 'fd00::2'].map((a) => list.matches(a))).toEqual([
      true,
      true,
      true,
      false,
    ]);
  });

  it('does not start a round while the previous one is still running', () => {
    const list = AllowList.compile(['slow.test']);
    const calls: number[] = [];
    scheduler.run(({ cold, expectObservable }) => {
      const lookup = () => {
        calls.push(scheduler.now());
        return cold('15ms (x|)', { x: ['10.0.0.1'] });
      };
      const rounds = hostLookups(list, { lookup, refresh: 10, scheduler }).pipe(map(() => 'r'));
      expectObservable(rounds, '^ 40ms !').toBe('15ms r 19ms r');
    });
    // Ticks at 10 and 30 come while a lookup runs.
    expect(calls).toEqual([0, 20, 40]);
  });

  it('keeps the last addresses found when a lookup fails; a host never resolved allows nobody', () => {
    const list = AllowList.compile(['db.test']);
    const seen: Array<[HostLookup, boolean]> = [];
    scheduler.run(({ cold }) => {
      const answers: Array<Observable<readonly string[]>> = [
        cold('-#', undefined, lookupError('ENOTFOUND', 'db.test')),
        cold('-(x|)', { x: ['10.0.0.5'] }),
        cold('-#', undefined, lookupError('EAI_AGAIN', 'db.test')),
      ];
      hostLookups(list, { lookup: () => answers.shift()!, refresh: 10, scheduler })
        .pipe(take(3))
        .subscribe(([result]) => seen.push([result, list.matches('10.0.0.5')]));
    });
    expect(
      seen.map(([r, allowed]) => [
        r.addresses,
        r.changed,
        (r.error as { code?: string })?.code,
        allowed,
      ]),
    ).toEqual([
      [[], false, 'ENOTFOUND', false],
      [['10.0.0.5'], true, undefined, true],
      [['10.0.0.5'], false, 'EAI_AGAIN', true],
    ]);
  });

  it.each([
    ['an empty answer', () => Promise.resolve([]), '"x.test" resolved to no IP address'],
    ['no IP address', () => Promise.resolve(['x.test']), '"x.test" resolved to no IP address'],
    [
      'an Observable that completes without a value',
      () => EMPTY,
      'the lookup of "x.test" gave no answer',
    ],
    [
      'a throw',
      () => {
        throw new TypeError('broken lookup');
      },
      'broken lookup',
    ],
    ['a rejection with no Error', () => Promise.reject('down'), 'down'],
  ])('reports %s as a failure', async (_, lookup, message) => {
    const list = AllowList.compile(['x.test']);
    const rounds: Array<readonly HostLookup[]> = [];
    await new Promise<void>((resolve) =>
      hostLookups(list, { lookup, refresh: 0 }).subscribe({
        next: (r) => rounds.push(r),
        complete: resolve,
      }),
    );
    expect(rounds).toHaveLength(1);
    expect(rounds[0][0]).toMatchObject({ host: 'x.test', addresses: [], changed: false });
    expect(rounds[0][0].error).toBeInstanceOf(Error);
    expect(rounds[0][0].error?.message).toBe(message);
  });

  it('looks up once and completes with a refresh of 0', () => {
    const list = AllowList.compile(['a.test']);
    scheduler.run(({ cold, expectObservable }) => {
      const lookup = () => cold('--(x|)', { x: ['10.0.0.1'] });
      expectObservable(
        hostLookups(list, { lookup, refresh: 0, scheduler }).pipe(map(() => 'r')),
      ).toBe('--(r|)');
    });
  });

  it('stops looking up when unsubscribed, and ignores an answer that comes later', () => {
    const list = AllowList.compile(['a.test']);
    let calls = 0;
    scheduler.run(({ cold, expectObservable }) => {
      const lookup = () => {
        calls++;
        return cold('5ms (x|)', { x: [`10.0.0.${calls}`] });
      };
      expectObservable(hostLookups(list, { lookup, refresh: 10, scheduler }), '^ 11ms !').toBe(
        '5ms x',
        { x: [{ host: 'a.test', addresses: ['10.0.0.1'], changed: true }] },
      );
    });
    expect(calls).toBe(2);
    expect(list.addressesOf('a.test')).toEqual(['10.0.0.1']);
  });

  it('is empty for a list without host names', () => {
    scheduler.run(({ expectObservable }) => {
      expectObservable(hostLookups(AllowList.compile(['10.0.0.1']), { scheduler })).toBe('|');
    });
  });

  it('uses dns.lookup by default: localhost resolves to a loopback address', async () => {
    const list = AllowList.compile(['localhost']);
    const [result] = await new Promise<readonly HostLookup[]>((resolve) =>
      hostLookups(list, { refresh: 0 }).subscribe(resolve),
    );
    expect(result.error).toBeUndefined();
    expect(result.addresses.length).toBeGreaterThan(0);
    for (const address of result.addresses) expect(['127.0.0.1', '::1']).toContain(address);
  });
});

describe('lookupAll', () => {
  it('gives every address of a host name', async () => {
    const addresses = await lookupAll('localhost');
    expect(addresses).toContain(addresses.includes('::1') ? '::1' : '127.0.0.1');
    expect(addresses.every((a) => a === '127.0.0.1' || a === '::1')).toBe(true);
  });
});

describe('hostLookupEntry', () => {
  it.each<[string, HostLookup, unknown]>([
    [
      'a first failure',
      {
        host: 'db.test',
        addresses: [],
        changed: false,
        error: lookupError('ENOTFOUND', 'db.test'),
      },
      {
        level: 1,
        type: 'allow-list',
        host: 'db.test',
        addresses: [],
        code: 'ENOTFOUND',
        message:
          'allowedClients: looking up "db.test" failed (getaddrinfo ENOTFOUND db.test); it allows nobody',
      },
    ],
    [
      'a failure after an answer',
      {
        host: 'db.test',
        addresses: ['10.0.0.5', 'fd00::5'],
        changed: false,
        error: new Error('timed out'),
      },
      {
        level: 1,
        type: 'allow-list',
        host: 'db.test',
        addresses: ['10.0.0.5', 'fd00::5'],
        code: 'ERR_LOOKUP',
        message:
          'allowedClients: looking up "db.test" failed (timed out); it still allows 10.0.0.5, fd00::5',
      },
    ],
    [
      'new addresses',
      { host: 'localhost', addresses: ['127.0.0.1', '::1'], changed: true },
      {
        level: 2,
        type: 'allow-list',
        host: 'localhost',
        addresses: ['127.0.0.1', '::1'],
        message: 'allowedClients: "localhost" allows 127.0.0.1, ::1',
      },
    ],
    [
      'the same addresses again',
      { host: 'localhost', addresses: ['::1'], changed: false },
      undefined,
    ],
  ])('logs %s', (_, result, entry) => {
    expect(hostLookupEntry(result)).toEqual(entry);
  });
});

describe('unrefScheduler', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('runs and repeats work on timers, and clears the timer on unsubscribe', () => {
    jest.useFakeTimers();
    const ticks: number[] = [];
    const subscription = interval(1000, unrefScheduler).subscribe((n) => ticks.push(n));
    jest.advanceTimersByTime(3500);
    expect(ticks).toEqual([0, 1, 2]);
    expect(jest.getTimerCount()).toBe(1);
    subscription.unsubscribe();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(5000);
    expect(ticks).toEqual([0, 1, 2]);
  });

  it('runs work once with a delay, then has no timer', () => {
    jest.useFakeTimers();
    const done: number[] = [];
    timer(50, unrefScheduler).subscribe((n) => done.push(n));
    jest.advanceTimersByTime(49);
    expect(done).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(done).toEqual([0]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('keeps no process alive: its timers are unref’d', () => {
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    const clearTimeoutSpy = jest.spyOn(global, 'clearTimeout');
    const subscription = interval(60_000, unrefScheduler).subscribe();
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1);
    const timeout = setTimeoutSpy.mock.results[0].value as NodeJS.Timeout;
    expect(timeout.hasRef()).toBe(false);
    subscription.unsubscribe();
    expect(clearTimeoutSpy).toHaveBeenCalledWith(timeout);
  });
});
