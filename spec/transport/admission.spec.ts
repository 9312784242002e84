import { NEVER, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { ConnectionRefusedError, HookError } from '../../src';
import { admission, connectionHook, connectionLimit } from '../../src/transport/admission';

function request(remoteAddress: string) {
  const refusals: ConnectionRefusedError[] = [];
  let refused = false;
  return {
    remoteAddress,
    remotePort: 5000,
    localAddress: '127.0.0.1',
    localPort: 80,
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

describe('connectionLimit', () => {
  it('refuses with ERR_MAX_CONNECTIONS while the count is over the limit', () => {
    const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
    const values = { a: request('127.0.0.1'), b: request('127.0.0.2'), c: request('127.0.0.3') };
    let count = 0;
    scheduler.run(({ hot, expectObservable }) => {
      const requests = hot('-a-b-c-|', values);
      // count() includes the request being checked.
      const counted = requests.pipe(connectionLimit(2, () => ++count));
      expectObservable(counted).toBe('-a-b---|', values);
    });
    expect(values.c.refusals.map((r) => [r.code, r.message])).toEqual([
      ['ERR_MAX_CONNECTIONS', 'maxConnections (2) reached'],
    ]);
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
