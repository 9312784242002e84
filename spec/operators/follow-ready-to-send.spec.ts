import { Subject, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { followReadyToSend, InvalidArgumentError, SendError, type OverflowPolicy } from '../../src';
import { Op } from '../helpers/frames';
import { BIG, readAll, stuck } from '../helpers/slow-client';
import { cleanup } from '../helpers/server';

const flags = { t: true, f: false };

describe('followReadyToSend (marbles)', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('passes values while ready, holds them while not and releases them in order on drain', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const ready = hot('  t-----f--------t------|', flags);
      const source = cold('-a-b----c-d--e------|');
      expectObservable(source.pipe(followReadyToSend(ready))).toBe('-a-b-----------(cde)|');
      expectSubscriptions(source.subscriptions).toBe('^-------------------!');
      expectSubscriptions(ready.subscriptions).toBe(' ^-------------------!');
    });
  });

  it('is ready until readyToSend$ says otherwise', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const ready = cold('---f--t-|', flags);
      expectObservable(cold('ab--c---|').pipe(followReadyToSend(ready))).toBe('ab----c-|');
    });
  });

  it('completes only once the held values are released', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const ready = hot('f-------t--|', flags);
      const source = cold('a-b-|');
      expectObservable(source.pipe(followReadyToSend(ready))).toBe('--------(ab|)');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('holds values that arrive while held values wait, even if ready has come back', () => {
    // Order is kept: a new value never overtakes the held ones.
    const ready = new Subject<boolean>();
    const source = new Subject<string>();
    const out: string[] = [];
    source.pipe(followReadyToSend(ready)).subscribe((v) => {
      out.push(v);
      if (v === 'b') {
        ready.next(false); // the release of b filled the socket
        source.next('d'); // a value made while releasing waits behind c
      }
    });
    ready.next(false);
    source.next('a');
    source.next('b');
    source.next('c');
    ready.next(true);
    expect(out).toEqual(['a', 'b']);
    ready.next(true);
    expect(out).toEqual(['a', 'b', 'c', 'd']);
  });

  it('drop-newest: drops values past the bound and reports each', () => {
    const drops: Array<[string, OverflowPolicy]> = [];
    scheduler.run(({ hot, cold, expectObservable }) => {
      const ready = hot('f--------t---------|', flags);
      const source = cold('abcd---------|');
      const op = followReadyToSend<string>(ready, {
        maxQueue: { messages: 2 },
        overflow: 'drop-newest',
        onDrop: (v, p) => drops.push([v, p]),
      });
      expectObservable(source.pipe(op)).toBe('---------(ab)|');
    });
    expect(drops).toEqual([
      ['c', 'drop-newest'],
      ['d', 'drop-newest'],
    ]);
  });

  it('drop-oldest: drops the oldest held values to make room', () => {
    const drops: string[] = [];
    scheduler.run(({ hot, cold, expectObservable }) => {
      const ready = hot('f--------t---------|', flags);
      const source = cold('abcd---------|');
      const op = followReadyToSend<string>(ready, {
        maxQueue: { messages: 2 },
        overflow: 'drop-oldest',
        onDrop: (v) => drops.push(v),
      });
      expectObservable(source.pipe(op)).toBe('---------(cd)|');
    });
    expect(drops).toEqual(['a', 'b']);
  });

  it('bounds bytes too: strings count their UTF-8 length, buffers their length', () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const values = { a: 'ééé', b: Buffer.alloc(3), c: 'x', d: { data: 'yy', format: 'text' } };
      const ready = hot('f-----t-|', flags);
      const source = cold('abcd--|', values);
      const op = followReadyToSend<unknown>(ready, {
        maxQueue: { bytes: 9 },
        overflow: 'drop-newest',
      });
      // a = 6 bytes; b (3) fits exactly; c and d do not.
      expectObservable(source.pipe(op)).toBe('------(ab|)', values);
    });
  });

  it.each([
    ['error', undefined],
    ['close', 1008],
  ] as const)(
    '%s: errors with ERR_WOULD_BLOCK at the value that does not fit',
    (policy, closeCode) => {
      scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
        const ready = hot('f------t-|', flags);
        const source = cold('ab-c---|');
        const op = followReadyToSend(ready, { maxQueue: { messages: 2 }, overflow: policy });
        const error = new SendError(
          'ERR_WOULD_BLOCK',
          'followReadyToSend: 2 values (2 bytes) held, no room for another',
          { closeCode },
        );
        expectObservable(source.pipe(op)).toBe('---#', undefined, error);
        expectSubscriptions(source.subscriptions).toBe('^--!');
        expectSubscriptions(ready.subscriptions).toBe('^--!');
      });
    },
  );

  it('unsubscribes from the source and readyToSend$ when the subscriber unsubscribes', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const ready = hot('f------t-|', flags);
      const source = cold('ab-c---|');
      expectObservable(source.pipe(followReadyToSend(ready)), '^---!').toBe('-----');
      expectSubscriptions(source.subscriptions).toBe('^---!');
      expectSubscriptions(ready.subscriptions).toBe('^---!');
    });
  });

  it('completes when readyToSend$ completes (the connection closed), dropping what is held', () => {
    scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const ready = hot('f---|', flags);
      const source = cold('ab-----c|');
      expectObservable(source.pipe(followReadyToSend(ready))).toBe('----|');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('passes an error of the source on at once, and one of readyToSend$', () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const ready = hot('f-----t-|', flags);
      expectObservable(cold('ab-#').pipe(followReadyToSend(ready))).toBe('---#');
      expectObservable(
        cold('a---').pipe(followReadyToSend(cold<boolean>('--#') as Observable<boolean>)),
      ).toBe('a-#');
    });
  });

  it('turns a throwing sizeOf or onDrop into an error of the output', () => {
    scheduler.run(({ hot, cold, expectObservable }) => {
      const ready = hot('f-----t-|', flags);
      const boom = new Error('boom');
      const sizeOf = (): number => {
        throw boom;
      };
      expectObservable(cold('-a--|').pipe(followReadyToSend(ready, { sizeOf }))).toBe(
        '-#',
        undefined,
        boom,
      );
      const onDrop = (): void => {
        throw boom;
      };
      const op = followReadyToSend(ready, {
        maxQueue: { messages: 1 },
        overflow: 'drop-newest',
        onDrop,
      });
      expectObservable(cold('ab--|').pipe(op)).toBe('-#', undefined, boom);
    });
  });

  it('refuses targets and options of the wrong kind at once', () => {
    const ready = new Subject<boolean>();
    expect(() => followReadyToSend({} as Observable<boolean>)).toThrow(InvalidArgumentError);
    expect(() => followReadyToSend(ready, { overflow: 'block' as OverflowPolicy })).toThrow(
      'followReadyToSend(): overflow must be "error", "drop-newest", "drop-oldest" or "close", got "block"',
    );
    expect(() => followReadyToSend(ready, { maxQueue: { messages: -1 } })).toThrow(
      InvalidArgumentError,
    );
    expect(() => followReadyToSend(ready, { sizeOf: 3 as unknown as () => number })).toThrow(
      'followReadyToSend(): sizeOf and onDrop must be functions',
    );
  });
});

describe('followReadyToSend (a connection whose client stopped reading)', () => {
  afterEach(cleanup);

  it('holds values before the sink while the socket is full and delivers them in order', async () => {
    const { conn, socket } = await stuck({});
    const source = new Subject<string>();
    source.pipe(followReadyToSend(conn)).subscribe(conn.sink);
    for (let i = 0; i < 5; i++) source.next(`m${i}`);
    // Held in the operator, not in the connection's queue.
    expect(conn.stats.queuedMessages).toBe(0);
    const frames = await readAll(socket, 6);
    expect(
      frames.map((f) => (f.opcode === Op.BINARY ? f.payload.length : f.payload.toString())),
    ).toEqual([BIG, 'm0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('counts its drops in conn.stats and reports them on logs$', async () => {
    const { conn, logs } = await stuck({});
    const source = new Subject<string>();
    source
      .pipe(followReadyToSend(conn, { maxQueue: { messages: 1 }, overflow: 'drop-newest' }))
      .subscribe(conn.sink);
    source.next('kept');
    source.next('dropped-1');
    source.next('dropped-2');
    expect(conn.stats.drops['drop-newest']).toBe(2);
    const dropped = logs.filter((e) => e.type === 'dropped');
    expect(dropped).toHaveLength(2);
    expect(dropped[0].message).toBe(
      `connection ${conn.id}: followReadyToSend queue full (1 values, 4 bytes); drop-newest: 9 bytes not sent`,
    );
  });

  it("'close' (the connection's own policy) closes the connection with 1008", async () => {
    const { conn, socket } = await stuck({ overflow: 'close', maxQueue: { messages: 2 } });
    const source = new Subject<string>();
    const errors: unknown[] = [];
    source.pipe(followReadyToSend(conn)).subscribe({
      next: (v) => conn.sink.next(v),
      error: (e: unknown) => errors.push(e),
    });
    source.next('a');
    source.next('b');
    source.next('c');
    expect(errors).toHaveLength(1);
    expect((errors[0] as SendError).closeCode).toBe(1008);
    const closed = await conn.disconnect();
    expect(closed.code).toBe(1008);
    expect(closed.reason).toBe('send queue full');
    socket.destroy();
  });
});
