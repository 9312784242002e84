import { NEVER, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { ConnectionRefusedError, HookError } from '../../src';
import { admission, admissionCheck, connectionHook } from '../../src/transport/admission';

function request(remoteAddress: string) {
  const refusals: ConnectionRefusedError[] = [];
  let refused = false;
  return {
    remoteAddress,
    remotePort: 5000,
    localAddress: '127.0.0.1',
    localPort: 80,
    closed$: NEVER,
    refusals,
    get refused() {
      return refused;
    },
    refuse(reason: ConnectionRefusedError) {
      refused = true;
      refusals.push(reason);
    },
  };
}

describe('admissionCheck', () => {
  const config = {
    allowedClients: ['127.0.0.0/8'],
    maxConnections: 2,
    onConnectionRequest: undefined,
    onHookError: () => undefined,
  };

  it('refuses with ERR_MAX_CONNECTIONS while the count is over the limit', () => {
    let count = 0;
    // current() includes the request being checked.
    const check = admissionCheck({ ...config, current: () => ++count });
    const [a, b, c] = [request('127.0.0.1'), request('127.0.0.2'), request('127.0.0.3')];
    expect([check(a), check(b), check(c)]).toEqual([true, true, false]);
    expect(c.refusals.map((r) => [r.code, r.message])).toEqual([
      ['ERR_MAX_CONNECTIONS', 'maxConnections (2) reached'],
    ]);
    expect([...a.refusals, ...b.refusals]).toEqual([]);
  });

  it('applies the allow-list before the limit, which then does not count the request', () => {
    let counted = 0;
    const check = admissionCheck({ ...config, current: () => ++counted });
    const outside = request('10.0.0.1');
    expect(check(outside)).toBe(false);
    expect(outside.refusals.map((r) => r.code)).toEqual(['ERR_NOT_ALLOWED']);
    expect(counted).toBe(0);
  });

  it('does not read the address when the allow-list is empty', () => {
    const check = admissionCheck({ ...config, allowedClients: [], current: () => 1 });
    const unread = {
      ...request('unused'),
      get remoteAddress(): string {
        throw new Error('remoteAddress was read');
      },
    };
    expect(check(unread)).toBe(true);
  });
});

describe('connectionHook', () => {
  it('passes requests the hook accepts, synchronously or later, and refuses the others', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const values = { a: request('10.0.0.1'), b: request('10.0.0.2'), c: request('10.0.0.3') };
    const errors: HookError[] = [];
    scheduler.run(({ hot, cold, expectObservable }) => {
      const answers: Record<string, ReturnType<typeof cold<boolean>> | boolean> = {
        '10.0.0.1': cold('---t|', { t: true }),
        '10.0.0.2': false,
        '10.0.0.3': true,
      };
      const requests = hot('-a-b-c-|', values);
      const result = requests.pipe(
        connectionHook(
          (r) => answers[r.remoteAddress],
          (e) => errors.push(e),
        ),
      );
      // a is decided 3 frames after it came; c at once; b never passes.
      expectObservable(result).toBe('----ac-|', values);
    });
    expect(values.b.refusals.map((r) => r.code)).toEqual(['ERR_CONNECTION_REFUSED']);
    expect(values.a.refusals).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('refuses and reports a hook that throws or errors, and a hook that never answers holds only its request', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const values = { a: request('10.0.0.1'), b: request('10.0.0.2'), c: request('10.0.0.3') };
    const errors: HookError[] = [];
    scheduler.run(({ hot, expectObservable }) => {
      const requests = hot('-a-b-c-', values);
      const hook = (r: { remoteAddress: string }) => {
        if (r.remoteAddress === '10.0.0.1') throw new Error('sync boom');
        if (r.remoteAddress === '10.0.0.2') return throwError(() => new Error('async boom'));
        return NEVER;
      };
      expectObservable(requests.pipe(connectionHook(hook, (e) => errors.push(e)))).toBe('-------');
    });
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['ERR_HOOK', 'onConnectionRequest failed: sync boom'],
      ['ERR_HOOK', 'onConnectionRequest failed: async boom'],
    ]);
    expect(values.a.refusals.map((r) => r.code)).toEqual(['ERR_CONNECTION_REFUSED']);
    expect(values.b.refusals.map((r) => r.code)).toEqual(['ERR_CONNECTION_REFUSED']);
    expect(values.c.refusals).toEqual([]);
  });
});

describe('admission', () => {
  it('applies the allow-list, then the limit, then the hook', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const values = {
      a: request('10.0.0.1'),
      b: request('8.8.8.8'),
      c: request('10.0.0.3'),
      d: request('10.0.0.4'),
    };
    const asked: string[] = [];
    let count = 0;
    scheduler.run(({ hot, expectObservable }) => {
      const result = hot('-a-b-c-d-|', values).pipe(
        admission({
          allowedClients: ['10.0.0.0/8'],
          maxConnections: 2,
          current: () => ++count,
          onConnectionRequest: (r) => {
            asked.push(r.remoteAddress);
            return r.remoteAddress !== '10.0.0.3';
          },
          onHookError: () => undefined,
        }),
      );
      expectObservable(result).toBe('-a-------|', values);
    });
    expect(values.b.refusals.map((r) => r.code)).toEqual(['ERR_NOT_ALLOWED']);
    expect(values.c.refusals.map((r) => r.code)).toEqual(['ERR_CONNECTION_REFUSED']);
    expect(values.d.refusals.map((r) => r.code)).toEqual(['ERR_MAX_CONNECTIONS']);
    expect(asked).toEqual(['10.0.0.1', '10.0.0.3']);
  });
});
