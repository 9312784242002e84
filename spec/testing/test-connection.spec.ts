import { filter, interval, map, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { testConnection } from '../../src/testing';

function newScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('testConnection', () => {
  it('runs a handler in virtual time: messages in from marbles, replies recorded as marbles', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const { connection, client } = testConnection();
      connection.messages$
        .pipe(map((m) => String(m.data).toUpperCase()))
        .subscribe(connection.sink);
      client.sendAll(hot('-a--b', { a: 'hi', b: 'yo' }));
      expectObservable(client.messages$).toBe('-A--B', { A: 'HI', B: 'YO' });
    });
  });

  it('records the close frame and completes at close', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const { connection, client } = testConnection();
      hot('---x').subscribe(() => void connection.disconnect(4000, 'bye'));
      expectObservable(client.frames$).toBe('---(c|)', {
        c: { type: 'close', code: 4000, reason: 'bye' },
      });
      expectObservable(connection.closed$).toBe('---(i|)', {
        i: { code: 4000, reason: 'bye', wasClean: true },
      });
    });
  });
});

describe('testConnection scenarios', () => {
  const big = (c: string) => c.repeat(20);

  it('queues under backpressure while the client stops reading, drops by policy, then catches up', () => {
    const scheduler = newScheduler();
    let drops = -1;
    scheduler.run(({ hot, expectObservable }) => {
      const { connection, client, logs$ } = testConnection({
        server: { outBufferSize: 16, maxQueue: { messages: 2 }, overflow: 'drop-oldest' },
      });
      client.reading = false;
      hot('-a-b-c-d', { a: big('a'), b: big('b'), c: big('c'), d: big('d') }).subscribe(
        connection.sink,
      );
      hot('----------r').subscribe(() => (client.reading = true));
      expectObservable(connection.readyToSend$).toBe('tf--------t', { t: true, f: false });
      expectObservable(client.messages$).toBe('----------(acd)', {
        a: big('a'),
        c: big('c'),
        d: big('d'),
      });
      // b is evicted when d arrives, and said so on logs$ as the server's would.
      expectObservable(
        logs$.pipe(
          filter((e) => e.type === 'dropped'),
          map((e) => e.type),
        ),
      ).toBe('-------d', { d: 'dropped' });
      scheduler.schedule(() => (drops = connection.stats.drops['drop-oldest']), 20);
    });
    expect(drops).toBe(1);
  });

  it('lets the client read at a scripted speed: one 52-byte frame every 10 ms', () => {
    newScheduler().run(({ expectObservable }) => {
      const { connection, client } = testConnection({ server: { outBufferSize: 100 } });
      client.reading = false;
      for (const c of 'abcde') connection.sink.next(c.repeat(50));
      interval(10)
        .pipe(take(5))
        .subscribe(() => client.read(52));
      expectObservable(client.messages$.pipe(map((m) => String(m)[0]))).toBe(
        '10ms a 9ms b 9ms c 9ms d 9ms e',
      );
      expectObservable(connection.readyToSend$).toBe('f 39ms t', { t: true, f: false });
    });
  });

  it('sends what was queued before the close frame when the client reads again', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const { connection, client } = testConnection({ server: { outBufferSize: 16 } });
      client.reading = false;
      hot('-a-b', { a: big('a'), b: big('b') }).subscribe(connection.sink);
      hot('----x').subscribe(() => void connection.disconnect(1000));
      hot('------r').subscribe(() => (client.reading = true));
      expectObservable(client.frames$).toBe('------(abc|)', {
        a: { type: 'message', data: big('a'), format: 'text' },
        b: { type: 'message', data: big('b'), format: 'text' },
        c: { type: 'close', code: 1000, reason: '' },
      });
    });
  });

  it('closes with the code of a client that disconnects, or 1006 when it just goes away', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const polite = testConnection();
      const gone = testConnection();
      hot('--c').subscribe(() => polite.client.close(1001, 'tab closed'));
      hot('---d').subscribe(() => gone.client.drop());
      expectObservable(polite.connection.closed$).toBe('--(i|)', {
        i: { code: 1001, reason: 'tab closed', wasClean: true },
      });
      expectObservable(polite.client.frames$).toBe('--(c|)', {
        c: { type: 'close', code: 1001, reason: 'tab closed' },
      });
      expectObservable(gone.connection.closed$).toBe('---(i|)', {
        i: { code: 1006, reason: '', wasClean: false },
      });
      expectObservable(gone.connection.messages$).toBe('---|');
    });
  });

  it('pings a silent client on the heartbeat and fails it when no pong comes', () => {
    newScheduler().run(({ expectObservable }) => {
      const { connection, client, errors$ } = testConnection({
        server: { heartbeat: { interval: 1000, timeout: 500 } },
        answerPings: false,
      });
      expectObservable(client.frames$).toBe('1000ms p 499ms |', {
        p: { type: 'ping', data: Buffer.alloc(0) },
      });
      expectObservable(connection.closed$.pipe(map((i) => [i.code, i.reason, i.wasClean]))).toBe(
        '1500ms (i|)',
        { i: [1001, 'heartbeat timeout', false] },
      );
      expectObservable(errors$.pipe(map((e) => [e.code, e.message]))).toBe('1500ms e', {
        e: ['ERR_TIMEOUT', 'no answer to a ping within 500 ms'],
      });
    });
  });

  it('closes a client that sends nothing for idleTimeout with 1001 "idle timeout"', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const quiet = testConnection({ server: { idleTimeout: 1000 } });
      const chatty = testConnection({ server: { idleTimeout: 1000 } });
      hot('600ms a 599ms b').subscribe((v) => chatty.client.send(v));
      // Its last byte came at 1200 ms: it is not idle before 2200 ms (to within a tick).
      hot('2100ms c').subscribe(() => chatty.client.close(1000));
      expectObservable(quiet.client.frames$).toBe('1000ms (c|)', {
        c: { type: 'close', code: 1001, reason: 'idle timeout' },
      });
      expectObservable(chatty.connection.closed$.pipe(map((i) => i.code))).toBe('2100ms (c|)', {
        c: 1000,
      });
    });
  });

  it('keeps a client that answers the heartbeat open', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const { connection, client } = testConnection({
        server: { heartbeat: { interval: 1000, timeout: 500 } },
      });
      hot('3s c').subscribe(() => client.close(1000));
      // A pong resets the quiet time at the next liveness tick (a quarter of 500 ms): the next
      // ping comes 1000 ms after that tick.
      expectObservable(client.frames$.pipe(map((f) => f.type))).toBe(
        '1000ms p 1124ms p 874ms (c|)',
        { p: 'ping', c: 'close' },
      );
      expectObservable(connection.pongs$.pipe(map(() => 'pong'))).toBe(
        '1000ms p 1124ms p 874ms |',
        { p: 'pong' },
      );
    });
  });
});

describe('testConnection, beyond marbles of messages', () => {
  it('delivers a fragmented message as pieces on fragments$ and whole on messages$', () => {
    newScheduler().run(({ hot, expectObservable }) => {
      const { connection, client } = testConnection();
      hot('-a-b').subscribe((v) => client.send(v === 'a' ? 'hel' : 'lo', { fin: v === 'b' }));
      expectObservable(connection.fragments$.pipe(map((m) => [m.data, m.eom]))).toBe('-a-b', {
        a: ['hel', false],
        b: ['lo', true],
      });
      expectObservable(connection.messages$.pipe(map((m) => m.data))).toBe('---m', { m: 'hello' });
    });
  });

  it('terminates a client that never answers the close frame after closeTimeout', () => {
    newScheduler().run(({ expectObservable }) => {
      const { connection } = testConnection({ server: { closeTimeout: 3000 }, answerClose: false });
      void connection.disconnect(4001, 'later');
      expectObservable(connection.closed$).toBe('3000ms (i|)', {
        i: { code: 4001, reason: 'later', wasClean: false },
      });
    });
  });

  it('rejects a send that makes no progress for its timeout, in virtual time', async () => {
    const scheduler = newScheduler();
    let queued: Promise<void> | undefined;
    scheduler.run(() => {
      const { connection, client } = testConnection({
        server: { outBufferSize: 16, defaultTimeout: 2 },
      });
      client.reading = false;
      void connection.send('a'.repeat(20)).catch(() => undefined);
      queued = connection.send('behind it');
    });
    await expect(queued).rejects.toMatchObject({
      code: 'ERR_TIMEOUT',
      message: 'send on connection 1 made no progress for 2 s; nothing of it was sent',
    });
  });

  it('gives the connection its data, request and address, and publishes to its topics', () => {
    newScheduler().run(({ expectObservable }) => {
      const { connection, client, publish } = testConnection({
        data: { user: 'ann' },
        request: { url: '/chat?room=1', headers: { authorization: 'Bearer t' } },
        remoteAddress: '10.0.0.7',
        protocol: 'chat.v1',
      });
      expect(connection.data.user).toBe('ann');
      expect([connection.request.url, connection.request.headers.authorization]).toEqual([
        '/chat?room=1',
        'Bearer t',
      ]);
      expect([connection.remoteAddress, connection.protocol]).toEqual(['10.0.0.7', 'chat.v1']);
      connection.subscribe('room:1');
      expect(publish('room:1', 'hello room')).toBe(1);
      expect(publish('room:2', 'elsewhere')).toBe(0);
      expectObservable(client.messages$).toBe('m', { m: 'hello room' });
    });
  });

  it("reports a sink value that cannot be sent on errors$, and answers the client's ping with a pong", () => {
    newScheduler().run(({ expectObservable }) => {
      const { connection, client, errors$ } = testConnection();
      connection.sink.next(42 as never);
      client.ping('are you there');
      expectObservable(errors$.pipe(map((e) => e.code))).toBe('e', { e: 'ERR_INVALID_DATA' });
      expectObservable(client.frames$).toBe('p', {
        p: { type: 'pong', data: Buffer.from('are you there') },
      });
    });
  });

  it('checks its options as createServer() does, and the client its close code', () => {
    expect(() => testConnection({ server: { maxQueue: { messages: -1 } } })).toThrow(
      '"maxQueue.messages" must be a non-negative integer or Infinity, got -1',
    );
    const { client } = testConnection();
    expect(() => client.close(1006)).toThrow(/1006/);
    expect(() => {
      client.reading = 'no' as never;
    }).toThrow('client.reading must be a boolean, got "no"');
  });
});
