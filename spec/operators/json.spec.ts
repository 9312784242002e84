import { map, of } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import {
  ConnectionError,
  InvalidArgumentError,
  ofType,
  parseJson,
  routeJson,
  toJson,
  type Connection,
  type JsonMessage,
} from '../../src';
import { testConnection } from '../../src/testing';
import { cleanup, clientClosed, nextMessage, openClient, startServer } from '../helpers/server';

afterEach(cleanup);

/** What parseJson() reads of a message: a connection (only its id is used) and the data. */
const conn = { id: 'c1' } as Connection;
const raw = (data: string | Buffer) => ({ connection: conn, data });

type In = { type: 'say'; text: string } | { type: 'ping' };

/** A user's validation: what a schema library's parse() does. */
function checkIn(value: unknown): In {
  const v = value as Partial<{ type: unknown; text: unknown }> | null;
  if (v?.type === 'ping') return { type: 'ping' };
  if (v?.type === 'say' && typeof v.text === 'string') return { type: 'say', text: v.text };
  throw new Error('expected {"type":"say","text":...} or {"type":"ping"}');
}

const scheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

describe('parseJson()', () => {
  it('parses text and binary (UTF-8) messages, typed by the validation', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const in$ = cold('-a-b-|', {
        a: raw('{"type":"say","text":"hi"}'),
        b: raw(Buffer.from('{"type":"ping"}')),
      });
      expectObservable(in$.pipe(parseJson<In>({ validate: checkIn }))).toBe('-a-b-|', {
        a: { connection: conn, data: { type: 'say', text: 'hi' } },
        b: { connection: conn, data: { type: 'ping' } },
      });
    });
  });

  it('ends the stream with ERR_INVALID_JSON (close code 1007, or closeCode) for bad JSON or a refused value', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const bad = cold('-a-x-b|', { a: raw('{"type":"ping"}'), x: raw('{oops'), b: raw('1') });
      const error = expect.objectContaining({
        name: 'ConnectionError',
        code: 'ERR_INVALID_JSON',
        closeCode: 1007,
        connectionId: 'c1',
      });
      expectObservable(bad.pipe(parseJson())).toBe(
        '-a-#',
        { a: { connection: conn, data: { type: 'ping' } } },
        error,
      );
      const refused = cold('-r|', { r: raw('{"type":"say"}') });
      expectObservable(refused.pipe(parseJson({ validate: checkIn, closeCode: 4001 }))).toBe(
        '-#',
        undefined,
        expect.objectContaining({
          code: 'ERR_INVALID_JSON',
          closeCode: 4001,
          message:
            'not a valid JSON message: expected {"type":"say","text":...} or {"type":"ping"}',
        }),
      );
    });
  });

  it("with invalid: 'skip', drops bad messages, tells onInvalid, and goes on", () => {
    const dropped: ConnectionError[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const in$ = cold('-a-x-b|', { a: raw('1'), x: raw('nope'), b: raw('[2]') });
      expectObservable(
        in$.pipe(parseJson({ invalid: 'skip', onInvalid: (e) => dropped.push(e) })),
      ).toBe('-a---b|', { a: { connection: conn, data: 1 }, b: { connection: conn, data: [2] } });
    });
    expect(dropped.map((e) => [e.code, e.closeCode])).toEqual([['ERR_INVALID_JSON', 1007]]);
  });

  it('refuses a bad option at once', () => {
    expect(() => parseJson({ invalid: 'ignore' as 'skip' })).toThrow(
      new InvalidArgumentError('parseJson(): invalid must be "error" or "skip", got "ignore"'),
    );
    expect(() => parseJson({ closeCode: 1005 })).toThrow(
      new InvalidArgumentError(
        'parseJson(): closeCode must be a close code a server may send, got 1005',
      ),
    );
  });
});

describe('ofType() and routeJson()', () => {
  const json = (data: unknown): JsonMessage<In> => ({ connection: conn, data: data as In });

  it('ofType() lets through the messages of the types named', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const in$ = cold('-s-p-s|', {
        s: json({ type: 'say', text: 'a' }),
        p: json({ type: 'ping' }),
      });
      expectObservable(in$.pipe(ofType('say'))).toBe('-s---s|', {
        s: json({ type: 'say', text: 'a' }),
      });
    });
  });

  it('routes by type, merging what the handlers return; an unknown type ends the stream with ERR_UNKNOWN_TYPE (1008)', () => {
    const routes = {
      say: ({ data }: JsonMessage<{ type: 'say'; text: string }>) => of(`said ${data.text}`),
      ping: () => ['pong'],
    };
    scheduler().run(({ cold, expectObservable }) => {
      const in$ = cold('-s-p-u-p|', {
        s: json({ type: 'say', text: 'hi' }),
        p: json({ type: 'ping' }),
        u: json({ type: 'shout' }),
      });
      expectObservable(in$.pipe(routeJson<In, string>(routes))).toBe(
        '-s-p-#',
        { s: 'said hi', p: 'pong' },
        expect.objectContaining({ code: 'ERR_UNKNOWN_TYPE', closeCode: 1008, connectionId: 'c1' }),
      );
      // null, a missing or a non-string type, an inherited name: unknown too.
      const odd = cold('-a-b-c-d-p|', {
        a: json(null),
        b: json({}),
        c: json({ type: 5 }),
        d: json({ type: 'toString' }),
        p: json({ type: 'ping' }),
      });
      expectObservable(odd.pipe(routeJson<In, string>(routes, { unknown: 'skip' }))).toBe(
        '---------p|',
        { p: 'pong' },
      );
    });
  });
});

describe('JSON on a real connection, as an app writes it', () => {
  it('replies through the sink; bad JSON closes with 1007, an unknown type with 1008', async () => {
    const { server, url } = await startServer();
    server.connections$.subscribe((c) => {
      c.messages$
        .pipe(
          // No validation here, so that an unknown type reaches the router (with checkIn, it
          // would be refused as invalid: 1007).
          parseJson<In>(),
          routeJson<In, string>({
            say: ({ data }) => [JSON.stringify({ type: 'said', text: data.text })],
            ping: () => [JSON.stringify({ type: 'pong' })],
          }),
        )
        .subscribe(c.sink);
    });

    const good = await openClient(url);
    const reply = nextMessage(good);
    good.send(JSON.stringify({ type: 'say', text: 'hello' }));
    expect(JSON.parse((await reply).data.toString())).toEqual({ type: 'said', text: 'hello' });

    const badJson = await openClient(url);
    const closedBad = clientClosed(badJson);
    badJson.send('{not json');
    expect((await closedBad).code).toBe(1007);

    const unknown = await openClient(url);
    const closedUnknown = clientClosed(unknown);
    unknown.send(JSON.stringify({ type: 'shout' }));
    expect((await closedUnknown).code).toBe(1008);
  });
});

describe('toJson', () => {
  const scheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

  it('serializes each value as JSON text, with the replacer and indentation given', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const values = cold('-a-b-|', { a: { type: 'said', text: 'hi' }, b: [1, 'two', null] });
      expectObservable(values.pipe(toJson())).toBe('-A-B-|', {
        A: '{"type":"said","text":"hi"}',
        B: '[1,"two",null]',
      });
      const point = cold('p|', { p: { x: 1, y: 2, secret: 's' } });
      expectObservable(point.pipe(toJson({ replacer: ['x', 'y'], space: 1 }))).toBe('p|', {
        p: '{\n "x": 1,\n "y": 2\n}',
      });
    });
  });

  it.each([
    [
      { n: BigInt(1) },
      'toJson(): an object cannot be sent as JSON: Do not know how to serialize a BigInt',
    ],
    [undefined, 'toJson(): undefined cannot be sent as JSON'],
  ])('errors with ERR_INVALID_DATA, close code 1011, for %p', (bad, message) => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const values = cold('-a-x-b|', { a: 1, x: bad, b: 2 });
      expectObservable(values.pipe(toJson())).toBe(
        '-a-#',
        { a: '1' },
        expect.objectContaining({ code: 'ERR_INVALID_DATA', closeCode: 1011, message }),
      );
      expectSubscriptions(values.subscriptions).toBe('^--!');
    });
  });

  it('closes the connection with 1011 when piped into its sink', () => {
    scheduler().run(({ expectObservable }) => {
      const { connection, client } = testConnection();
      connection.messages$
        .pipe(
          map((m) => (m.data === 'big' ? { n: BigInt(1) } : { echo: m.data })),
          toJson(),
        )
        .subscribe(connection.sink);
      client.send('hi');
      client.send('big');
      expectObservable(client.frames$).toBe('(mc|)', {
        m: { type: 'message', data: '{"echo":"hi"}', format: 'text' },
        c: { type: 'close', code: 1011, reason: '' },
      });
    });
  });

  it.each([
    [{ replacer: 'x' }, 'toJson(): replacer must be a function or an array, got "x"'],
    [{ space: {} }, 'toJson(): space must be a string or a number, got an object'],
  ])('throws InvalidArgumentError at once for %j', (options, message) => {
    expect(() => toJson(options as never)).toThrow(new InvalidArgumentError(message));
  });
});
