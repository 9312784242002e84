/**
 * The README's "Testing your app", run: marble tests of the handlers in examples/testing/, written
 * as a user would, with rxws, rxws/testing and RxJS's TestScheduler, all in virtual time.
 */
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { ConnectionRefusedError, type OpenRequest } from '../../src';
import { testConnection } from '../../src/testing';
import { admin, authenticate, rateLimit, type Session } from '../../examples/testing/auth';
import { chat } from '../../examples/testing/chat';
import { priceFeed } from '../../examples/testing/prices';

function marbles(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

describe('a chat handler', () => {
  it('joins a room and relays what its user says to the room', () => {
    marbles().run(({ hot, expectObservable }) => {
      const { connection, client, publish } = testConnection({ data: { name: 'ann' } });
      chat(connection, { publish });
      client.sendAll(
        hot('-j--s', {
          j: JSON.stringify({ type: 'join', room: 'lobby' }),
          s: JSON.stringify({ type: 'say', text: 'hi all' }),
        }),
      );
      expectObservable(client.messages$.pipe(map((m) => JSON.parse(String(m))))).toBe('-j--s', {
        j: { type: 'joined', room: 'lobby' },
        s: { type: 'said', user: 'ann', text: 'hi all' },
      });
    });
  });

  it('closes with 1007 on bad JSON and on a message its validation refuses', () => {
    marbles().run(({ expectObservable }) => {
      const bad = testConnection({ data: { name: 'bob' } });
      const odd = testConnection({ data: { name: 'eve' } });
      chat(bad.connection, { publish: bad.publish });
      chat(odd.connection, { publish: odd.publish });
      bad.client.send('{"type":');
      odd.client.send('{"type":"dance"}');
      expectObservable(bad.connection.closed$.pipe(map((i) => i.code))).toBe('(c|)', { c: 1007 });
      expectObservable(odd.connection.closed$.pipe(map((i) => i.code))).toBe('(c|)', { c: 1007 });
    });
  });
});

describe('an auth hook and a rate limit', () => {
  const tokens = async (token: string): Promise<Session | undefined> =>
    token === 't-ann' ? { user: 'ann', admin: true } : undefined;
  const request = (headers: Record<string, string>): OpenRequest =>
    ({ headers, url: '/', remoteAddress: '10.0.0.1' }) as unknown as OpenRequest;

  it('opens with the session as data for a known token, and answers 401 otherwise', async () => {
    const hook = authenticate(tokens);
    await expect(hook(request({ authorization: 'Bearer t-ann' }))).resolves.toEqual({
      accept: true,
      data: { user: 'ann', admin: true },
    });
    await expect(hook(request({ authorization: 'Bearer nope' }))).resolves.toEqual({
      accept: false,
      status: 401,
      headers: { 'WWW-Authenticate': 'Bearer' },
    });
  });

  it('refuses the third request from one address within the window with 429', () => {
    const refused: Array<[string, number | undefined]> = [];
    const from = (remoteAddress: string) => ({
      remoteAddress,
      refuse: (reason: ConnectionRefusedError) => refused.push([remoteAddress, reason.status]),
    });
    const values = {
      a: from('10.0.0.1'),
      b: from('10.0.0.1'),
      c: from('10.0.0.1'),
      d: from('10.0.0.2'),
      e: from('10.0.0.1'),
    };
    marbles().run(({ hot, expectObservable }) => {
      const requests = hot('a-b-c-d 1s e', values);
      expectObservable(requests.pipe(rateLimit(2, 1000))).toBe('a-b---d 1s e', values);
    });
    expect(refused).toEqual([['10.0.0.1', 429]]);
  });

  it("hands the session to the handler: an admin closes the room, others can't", () => {
    marbles().run(({ expectObservable }) => {
      const ann = testConnection({ data: { user: 'ann', admin: true } });
      const bob = testConnection({ data: { user: 'bob', admin: false } });
      admin(ann.connection);
      admin(bob.connection);
      ann.client.send('shutdown');
      bob.client.send('shutdown');
      expectObservable(ann.client.frames$).toBe('(c|)', {
        c: { type: 'close', code: 4000, reason: 'shut by ann' },
      });
      expectObservable(bob.client.messages$).toBe('m', { m: 'bob may not shut the room' });
    });
  });
});

describe('a backpressure policy', () => {
  it('sends a client that stopped reading only the latest price once it reads again', () => {
    const price = (p: number) => ({ symbol: 'EUR', price: p });
    let drops = -1;
    const scheduler = marbles();
    scheduler.run(({ hot, expectObservable }) => {
      const { connection, client } = testConnection({ server: { outBufferSize: 16 } });
      client.reading = false;
      priceFeed(
        connection,
        hot('-a-b-c-d', { a: price(1), b: price(2), c: price(3), d: price(4) }),
      );
      hot('----------r').subscribe(() => (client.reading = true));
      expectObservable(client.messages$.pipe(map((m) => JSON.parse(String(m)).price))).toBe(
        '----------(ad)',
        { a: 1, d: 4 },
      );
      scheduler.schedule(() => (drops = connection.stats.drops['drop-oldest']), 20);
    });
    expect(drops).toBe(2);
  });
});
