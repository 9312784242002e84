import { firstValueFrom, take, toArray } from 'rxjs';
import WebSocket from 'ws';
import {
  InvalidArgumentError,
  type Connection,
  type Disconnection,
  type RxwsServer,
  type TopicMessage,
} from '../../src';
import { Outbound } from '../../src/connection/outbound';
import * as frame from '../../src/protocol/frame';
import { Op } from '../helpers/frames';
import { cleanup, nextMessage, openClient, startServer } from '../helpers/server';
import { BIG, readAll, stuck } from '../helpers/slow-client';

afterEach(async () => {
  jest.restoreAllMocks();
  await cleanup();
});

/** A server with `n` ws clients connected; connections in the order the clients opened. */
async function withClients(
  n: number,
  options: Parameters<typeof startServer>[0] = {},
  clientOptions?: WebSocket.ClientOptions,
): Promise<{ server: RxwsServer; url: string; clients: WebSocket[]; conns: Connection[] }> {
  const { server, url } = await startServer(options);
  const opened = firstValueFrom(server.connections$.pipe(take(n), toArray()));
  const clients: WebSocket[] = [];
  for (let i = 0; i < n; i++) clients.push(await openClient(url, undefined, clientOptions));
  return { server, url, clients, conns: await opened };
}

type Received = { data: Buffer; isBinary: boolean };

/** The next `n` messages a client receives, in order. */
function collect(ws: WebSocket, n: number): Promise<Received[]> {
  return new Promise((resolve) => {
    const got: Received[] = [];
    const onMessage = (data: Buffer, isBinary: boolean): void => {
      got.push({ data, isBinary });
      if (got.length === n) {
        ws.off('message', onMessage);
        resolve(got);
      }
    };
    ws.on('message', onMessage);
  });
}

const texts = (got: Received[]): string[] => got.map((m) => m.data.toString());

describe('conn.subscribe() and server.publish()', () => {
  it('sends a published message to the subscribers of its topic only, and says how many', async () => {
    const { server, clients, conns } = await withClients(3);
    expect(conns[0].subscribe('news')).toBe(true);
    expect(conns[1].subscribe('sport')).toBe(true);
    expect(conns[2].subscribe('news')).toBe(true);
    const got = clients.map((c) => collect(c, 1));
    expect(server.publish('news', 'hello')).toBe(2);
    expect(server.publish('sport', 'goal')).toBe(1);
    expect(server.publish('weather', 'rain')).toBe(0);
    expect((await Promise.all(got)).map(texts)).toEqual([['hello'], ['goal'], ['hello']]);
    expect(conns.map((c) => c.stats.messagesOut)).toEqual([1, 1, 1]);
  });

  it('says whether it subscribed, and shows the topics in conn.topics, a live read-only view', async () => {
    const { conns } = await withClients(1);
    const [conn] = conns;
    const view = conn.topics;
    expect([view.size, [...view]]).toEqual([0, []]);
    expect(conn.subscribe('a')).toBe(true);
    expect(conn.subscribe('a')).toBe(false);
    expect(conn.subscribe('b')).toBe(true);
    expect([view.size, [...view], view.has('a'), view.has('c')]).toEqual([
      2,
      ['a', 'b'],
      true,
      false,
    ]);
    expect([...conn.topics.entries()]).toEqual([
      ['a', 'a'],
      ['b', 'b'],
    ]);
    const seen: string[] = [];
    view.forEach((value, key, set) => seen.push(`${value}=${key}:${set === view}`));
    expect(seen).toEqual(['a=a:true', 'b=b:true']);
    expect(conn.unsubscribe('a')).toBe(true);
    expect(conn.unsubscribe('a')).toBe(false);
    expect(conn.unsubscribe('never')).toBe(false);
    expect([view.size, [...view.keys()], [...view.values()]]).toEqual([1, ['b'], ['b']]);
    expect('add' in view || 'delete' in view || 'clear' in view).toBe(false);
    expect(Object.prototype.toString.call(view)).toBe('[object TopicSet]');
  });

  it('sends text as text and bytes as binary, or as the format says', async () => {
    const { server, clients, conns } = await withClients(1);
    conns[0].subscribe('t');
    const got = collect(clients[0], 6);
    server.publish('t', 'text é');
    server.publish('t', Buffer.from([0, 1, 2]));
    server.publish('t', new Uint8Array([3, 4]));
    server.publish('t', new Uint8Array([5, 6, 7]).buffer);
    server.publish('t', 'as bytes', { format: 'binary' });
    server.publish('t', { data: Buffer.from('as text'), format: 'text' });
    expect(
      (await got).map((m) => [m.isBinary, m.isBinary ? [...m.data] : m.data.toString()]),
    ).toEqual([
      [false, 'text é'],
      [true, [0, 1, 2]],
      [true, [3, 4]],
      [true, [5, 6, 7]],
      [true, [...Buffer.from('as bytes')]],
      [false, 'as text'],
    ]);
  });

  it('delivers the messages published one after the other in that order, to every subscriber', async () => {
    const { server, clients, conns } = await withClients(3);
    for (const conn of conns) conn.subscribe('feed');
    const n = 200;
    const got = clients.map((c) => collect(c, n));
    const sent: string[] = [];
    for (let i = 0; i < n; i++) {
      // Every tenth message is 100 KiB: framed as a header and a payload written apart.
      const message = i % 10 === 0 ? `${i}:${'x'.repeat(100 * 1024)}` : `${i}`;
      sent.push(message);
      expect(server.publish('feed', message)).toBe(3);
    }
    for (const received of await Promise.all(got)) expect(texts(received)).toEqual(sent);
  });

  it('still delivers a message published just before an unsubscribe or a disconnect in the same tick', async () => {
    const { server, clients, conns } = await withClients(2);
    conns[0].subscribe('t');
    conns[1].subscribe('t');
    const first = collect(clients[0], 2);
    const closed = new Promise<number>((resolve) => clients[1].once('close', resolve));
    const lastOfSecond = nextMessage(clients[1]);
    expect(server.publish('t', 'last')).toBe(2);
    conns[0].unsubscribe('t');
    void conns[1].disconnect(1000);
    expect(server.publish('t', 'after')).toBe(0);
    server.broadcast('end');
    expect(texts(await first)).toEqual(['last', 'end']);
    expect((await lastOfSecond).data.toString()).toBe('last');
    expect(await closed).toBe(1000);
  });

  it('frames a message once and hands the same frame to every subscriber', async () => {
    const { server, clients, conns } = await withClients(5);
    for (const conn of conns) conn.subscribe('t');
    const encode = jest.spyOn(frame, 'encodeFrame');
    const handed = jest.spyOn(Outbound.prototype, 'sendShared');
    const big = 'y'.repeat(64 * 1024);
    const got = clients.map((c) => collect(c, 2));
    expect(server.publish('t', 'same bytes')).toBe(5);
    expect(server.publish('t', big)).toBe(5);
    expect(encode).toHaveBeenCalledTimes(2);
    const frames = handed.mock.calls.map((call) => call[0].frame);
    expect(frames).toHaveLength(10);
    for (const f of frames.slice(0, 5)) expect(f).toBe(encode.mock.results[0].value);
    for (const f of frames.slice(5)) expect(f).toBe(encode.mock.results[1].value);
    expect(frames[0]).toEqual(Buffer.concat([Buffer.from([0x81, 10]), Buffer.from('same bytes')]));
    for (const received of await Promise.all(got))
      expect(texts(received)).toEqual(['same bytes', big]);
  });

  it('sends to permessage-deflate subscribers compressed, beside plain ones', async () => {
    const { server, url, clients, conns } = await withClients(
      1,
      { perMessageDeflate: true },
      { perMessageDeflate: true },
    );
    const opened = firstValueFrom(server.connections$);
    const plain = await openClient(url, undefined, { perMessageDeflate: false });
    const plainConn = await opened;
    expect([clients[0].extensions, plain.extensions]).toEqual(['permessage-deflate', '']);
    conns[0].subscribe('t');
    plainConn.subscribe('t');
    const text = 'compressible '.repeat(1000);
    const got = [collect(clients[0], 2), collect(plain, 2)];
    expect(server.publish('t', text)).toBe(2);
    expect(server.publish('t', Buffer.from([9, 8, 7]))).toBe(2);
    for (const received of await Promise.all(got)) {
      expect(
        received.map((m) => [m.isBinary, m.isBinary ? [...m.data] : m.data.toString()]),
      ).toEqual([
        [false, text],
        [true, [9, 8, 7]],
      ]);
    }
  });

  it('leaves every topic when the connection closes, listing them while disconnections$ emits', async () => {
    const { server, clients, conns } = await withClients(2);
    conns[0].subscribe('a');
    conns[0].subscribe('b');
    conns[1].subscribe('a');
    const view = conns[0].topics;
    // Read while disconnections$ emits (a `.then` would run after).
    const atDisconnection = new Promise<{ id: string; topics: string[] }>((resolve) =>
      server.disconnections$.subscribe((d: Disconnection) =>
        resolve({ id: d.connection.id, topics: [...d.connection.topics] }),
      ),
    );
    clients[0].close(1000);
    expect(await atDisconnection).toEqual({ id: conns[0].id, topics: ['a', 'b'] });
    expect([view.size, conns[0].topics.size]).toEqual([0, 0]);
    expect(server.publish('b', 'nobody')).toBe(0);
    const got = nextMessage(clients[1]);
    expect(server.publish('a', 'the other')).toBe(1);
    expect((await got).data.toString()).toBe('the other');
    // Closed: not subscribed again, and nothing is kept for it.
    expect(conns[0].subscribe('a')).toBe(false);
    expect(conns[0].topics.size).toBe(0);
    expect(server.publish('a', 'still one')).toBe(1);
  });

  it('does not subscribe a connection that is closing, and still checks the name', async () => {
    const { conns } = await withClients(1);
    const closing = conns[0].disconnect();
    expect(conns[0].state).toBe('CLOSING');
    expect(conns[0].subscribe('t')).toBe(false);
    expect(conns[0].topics.size).toBe(0);
    expect(() => conns[0].subscribe('')).toThrow('topic must be a non-empty string, got ""');
    await closing;
    expect(conns[0].subscribe('t')).toBe(false);
  });

  it('keeps a slow subscriber from delaying the others: they get everything, its drops are counted and logged', async () => {
    const { server, conn, socket, logs, errors } = await stuck({ overflow: 'drop-newest' });
    conn.maxQueue = { messages: 2 };
    const url = `ws://127.0.0.1:${server.address!.port}`;
    const opened = firstValueFrom(server.connections$.pipe(take(2), toArray()));
    const fast = [await openClient(url), await openClient(url)];
    const fastConns = await opened;
    for (const c of [conn, ...fastConns]) c.subscribe('t');
    const got = fast.map((c) => collect(c, 5));

    for (let i = 1; i <= 5; i++) expect(server.publish('t', `p${i}`)).toBe(3);
    // Handed over and queued: still sent after the slow one unsubscribes.
    conn.unsubscribe('t');

    for (const received of await Promise.all(got)) {
      expect(texts(received)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    }
    expect(fastConns.map((c) => c.stats.drops['drop-newest'])).toEqual([0, 0]);
    expect(conn.stats.drops).toEqual({ 'drop-newest': 3, 'drop-oldest': 0, close: 0, error: 0 });
    expect(conn.stats.queuedMessages).toBe(2);
    const dropped = logs.filter((e) => e.type === 'dropped');
    expect(
      dropped.map((e) => [e.type === 'dropped' && e.connectionId, e.type === 'dropped' && e.code]),
    ).toEqual([
      [conn.id, 'ERR_DROPPED'],
      [conn.id, 'ERR_DROPPED'],
      [conn.id, 'ERR_DROPPED'],
    ]);
    expect(errors).toEqual([]);

    const frames = await readAll(socket, 3);
    expect(
      frames.map((f) => [f.opcode, f.opcode === Op.TEXT ? f.payload.toString() : f.payload.length]),
    ).toEqual([
      [Op.BINARY, BIG],
      [Op.TEXT, 'p1'],
      [Op.TEXT, 'p2'],
    ]);
  }, 30_000);

  it('throws InvalidArgumentError at once for a topic name that is not valid', async () => {
    const { server, conns } = await withClients(1);
    const cases: Array<[unknown, string]> = [
      ['', 'topic must be a non-empty string, got ""'],
      [7, 'topic must be a non-empty string, got 7'],
      ['x'.repeat(257), 'topic must be at most 256 UTF-8 bytes, got 257'],
      ['\ud83d', 'topic must be well-formed Unicode (no lone surrogates), got "\\ud83d"'],
    ];
    for (const [topic, message] of cases) {
      const name = topic as string;
      for (const call of [
        () => conns[0].subscribe(name),
        () => conns[0].unsubscribe(name),
        () => server.publish(name, 'x'),
        () => server.topic$(name),
      ]) {
        expect(call).toThrow(InvalidArgumentError);
        expect(call).toThrow(message);
      }
    }
    expect(conns[0].subscribe('x'.repeat(256))).toBe(true);
    expect([...conns[0].topics]).toEqual(['x'.repeat(256)]);
  });

  it('throws InvalidArgumentError for data that cannot be sent or a bad format', async () => {
    const { server } = await startServer();
    expect(() => server.publish('t', 42 as unknown as string)).toThrow(
      'cannot send 42: expected a string, Buffer, Uint8Array or ArrayBuffer',
    );
    expect(() => server.publish('t', 'x', { format: 'json' as 'text' })).toThrow(
      'format must be "text" or "binary", got "json"',
    );
    expect(() => server.publish('t', { data: 'x', format: 'json' as 'text' })).toThrow(
      InvalidArgumentError,
    );
  });
});

describe('server.topic$()', () => {
  it('emits each message published on its topic from subscription on, without replay', async () => {
    const { server } = await startServer();
    server.publish('t', 'before');
    const seen: TopicMessage[] = [];
    const subscription = server.topic$('t').subscribe((m) => seen.push(m));
    // Observers are not subscribers: publish() counts connections.
    expect(server.publish('t', 'one')).toBe(0);
    server.publish('other', 'elsewhere');
    server.publish('t', Buffer.from([1, 2]));
    server.publish('t', Buffer.from('bytes as text'), { format: 'text' });
    server.publish('t', 'text as bytes', { format: 'binary' });
    subscription.unsubscribe();
    server.publish('t', 'after');
    expect(seen).toEqual([
      { type: 'message', topic: 't', data: 'one', format: 'text' },
      { type: 'message', topic: 't', data: Buffer.from([1, 2]), format: 'binary' },
      { type: 'message', topic: 't', data: 'bytes as text', format: 'text' },
      { type: 'message', topic: 't', data: Buffer.from('text as bytes'), format: 'binary' },
    ]);
  });

  it('sees the same messages, in the same order, as the subscribed connections', async () => {
    const { server, clients, conns } = await withClients(1);
    conns[0].subscribe('t');
    const seen = firstValueFrom(server.topic$('t').pipe(take(3), toArray()));
    const got = collect(clients[0], 3);
    for (const m of ['a', 'b', 'c']) server.publish('t', m);
    expect((await seen).map((m) => m.data)).toEqual(['a', 'b', 'c']);
    expect(texts(await got)).toEqual(['a', 'b', 'c']);
  });

  it('completes when shutdown() has finished, and at once when subscribed after', async () => {
    const { server } = await startServer();
    const events: string[] = [];
    server.topic$('t').subscribe({ complete: () => events.push('completed') });
    await server.shutdown();
    expect(events).toEqual(['completed']);
    server.topic$('t').subscribe({ complete: () => events.push('completed at once') });
    expect(events).toEqual(['completed', 'completed at once']);
    expect(server.publish('t', 'x')).toBe(0);
  });
});
