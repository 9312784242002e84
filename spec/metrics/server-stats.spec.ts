import { filter, firstValueFrom, take, toArray } from 'rxjs';
import WebSocket from 'ws';
import type { ConnectionStats, RxwsServer, ServerOptions, ServerStats } from '../../src';
import { ServerCounters, trafficRates } from '../../src/metrics/server-stats';
import { testCerts, type TestCerts } from '../helpers/certs';
import { rawHttp, tcpConnect, upgradeRequest } from '../helpers/raw';
import { cleanup, nextMessage, openClient, startServer } from '../helpers/server';
import { BIG, readAll, stuck } from '../helpers/slow-client';

afterEach(cleanup);

/** A connection's stats with these figures, the others 0. */
function connStats(figures: Partial<ConnectionStats> = {}): ConnectionStats {
  return {
    bytesIn: 0,
    messagesIn: 0,
    bytesOut: 0,
    messagesOut: 0,
    queuedMessages: 0,
    queuedBytes: 0,
    peakQueuedBytes: 0,
    drops: { 'drop-newest': 0, 'drop-oldest': 0, close: 0, error: 0 },
    timesPaused: 0,
    ...figures,
  };
}

const noDrops = { 'drop-newest': 0, 'drop-oldest': 0, close: 0, error: 0 };
const noRefusals = { connection: 0, tls: 0, handshake: 0, open: 0 };

describe('ServerCounters', () => {
  it('starts at zero', () => {
    expect(new ServerCounters().snapshot([], 0)).toEqual({
      connections: { open: 0, opened: 0, closed: 0, handshaking: 0 },
      refused: noRefusals,
      messagesIn: 0,
      bytesIn: 0,
      messagesOut: 0,
      bytesOut: 0,
      queuedMessages: 0,
      queuedBytes: 0,
      drops: noDrops,
      sendQueueWait: { count: 0, p50: 0, p99: 0, max: 0 },
    });
  });

  it('adds the open connections to the totals of the closed ones', () => {
    const counters = new ServerCounters();
    counters.connectionClosed(
      connStats({
        messagesIn: 1,
        bytesIn: 10,
        messagesOut: 2,
        bytesOut: 20,
        drops: { 'drop-newest': 1, 'drop-oldest': 0, close: 0, error: 3 },
      }),
    );
    counters.refused.handshake++;
    counters.sendQueueWait.record(4);
    const open = [
      {
        stats: connStats({
          messagesIn: 3,
          bytesIn: 30,
          messagesOut: 4,
          bytesOut: 40,
          queuedMessages: 2,
          queuedBytes: 7,
          drops: { 'drop-newest': 0, 'drop-oldest': 5, close: 0, error: 0 },
        }),
      },
      { stats: connStats({ messagesIn: 1, bytesIn: 1, queuedMessages: 1, queuedBytes: 1 }) },
    ];
    expect(counters.snapshot(open, 3)).toEqual({
      connections: { open: 2, opened: 3, closed: 1, handshaking: 3 },
      refused: { ...noRefusals, handshake: 1 },
      messagesIn: 5,
      bytesIn: 41,
      messagesOut: 6,
      bytesOut: 60,
      queuedMessages: 3,
      queuedBytes: 8,
      drops: { 'drop-newest': 1, 'drop-oldest': 5, close: 0, error: 3 },
      sendQueueWait: { count: 1, p50: 4, p99: 4, max: 4 },
    });
  });

  it('returns a frozen snapshot that later counts do not change', () => {
    const counters = new ServerCounters();
    const before = counters.snapshot([], 0);
    counters.refused.open++;
    counters.connectionClosed(connStats({ messagesIn: 1 }));
    expect(before.refused.open).toBe(0);
    expect(before.messagesIn).toBe(0);
    for (const part of [before, before.connections, before.refused, before.drops]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
  });
});

describe('trafficRates', () => {
  const at = (messagesIn: number, bytesIn: number, messagesOut: number, bytesOut: number) => ({
    ...new ServerCounters().snapshot([], 0),
    messagesIn,
    bytesIn,
    messagesOut,
    bytesOut,
  });

  it.each([
    [1000, { messagesInPerSec: 10, bytesInPerSec: 100, messagesOutPerSec: 20, bytesOutPerSec: 0 }],
    [500, { messagesInPerSec: 20, bytesInPerSec: 200, messagesOutPerSec: 40, bytesOutPerSec: 0 }],
    [0, { messagesInPerSec: 0, bytesInPerSec: 0, messagesOutPerSec: 0, bytesOutPerSec: 0 }],
  ])('divides what changed by the %p ms between', (ms, expected) => {
    expect(trafficRates(at(5, 50, 5, 7), at(15, 150, 25, 7), ms)).toEqual(expected);
  });
});

describe('server.stats', () => {
  /** Resolves with the next `count` connections the server opens. */
  const opened = (server: RxwsServer, count: number) =>
    firstValueFrom(server.connections$.pipe(take(count), toArray()));

  it('counts connections open, opened and closed since start, and sockets handshaking', async () => {
    const { server, port, url } = await startServer();
    expect(server.stats.connections).toEqual({ open: 0, opened: 0, closed: 0, handshaking: 0 });

    const both = opened(server, 2);
    const [a] = await Promise.all([openClient(url), openClient(url)]);
    await both;
    expect(server.stats.connections).toEqual({ open: 2, opened: 2, closed: 0, handshaking: 0 });

    const gone = firstValueFrom(server.disconnections$);
    a.close();
    await gone;
    expect(server.stats.connections).toEqual({ open: 1, opened: 2, closed: 1, handshaking: 0 });

    // A TCP client that sends nothing stays on the accept path once the connection stage let it in.
    const accepted = firstValueFrom(server.logs$.pipe(filter((e) => e.type === 'accepted')));
    await tcpConnect(port);
    await accepted;
    expect(server.stats.connections).toEqual({ open: 1, opened: 2, closed: 1, handshaking: 1 });
  });

  describe('refused', () => {
    let certs: TestCerts;
    beforeAll(() => {
      certs = testCerts();
    });
    afterAll(() => certs.remove());

    /** Opens a `ws` client to `url` and resolves once it has failed or closed. */
    const ended = (url: string, options?: WebSocket.ClientOptions) =>
      new Promise<void>((resolve) => {
        const ws = new WebSocket(url, options);
        ws.on('error', () => undefined);
        ws.on('open', () => ws.terminate());
        ws.on('close', () => resolve());
      });

    const cases: Array<
      [
        string,
        ServerOptions,
        (port: number, url: string) => Promise<unknown>,
        keyof ServerStats['refused'],
      ]
    > = [
      [
        'outside allowedClients',
        { allowedClients: ['127.0.0.2'] },
        (_, url) => ended(url),
        'connection',
      ],
      [
        'past maxConnections',
        { maxConnections: 1 },
        async (_, url) => {
          await openClient(url);
          await ended(url);
        },
        'connection',
      ],
      [
        'refused by onTlsRequest',
        {},
        (port) => ended(`wss://localhost:${port}`, { rejectUnauthorized: false }),
        'tls',
      ],
      ['for another path (404)', { path: '/ws' }, (_, url) => ended(`${url}/other`), 'handshake'],
      [
        'for a method other than GET (405)',
        {},
        (port) => rawHttp(port, upgradeRequest('/', [], port).replace(/^GET/, 'POST')),
        'handshake',
      ],
      ['by onOpenRequest (403)', { onOpenRequest: () => false }, (_, url) => ended(url), 'open'],
    ];

    it.each(cases)(
      'counts a request %s at its stage, with logLevel 0 and nobody on logs$',
      async (name, options, request, stage) => {
        const tls =
          stage === 'tls'
            ? { tls: { cert: certs.serverCert, key: certs.serverKey }, onTlsRequest: () => false }
            : {};
        const { server, port, url } = await startServer({ ...options, ...tls, logLevel: 0 });
        await request(port, url);
        expect([name, server.stats.refused]).toEqual([name, { ...noRefusals, [stage]: 1 }]);
      },
    );
  });

  it('keeps the traffic of closed connections in the totals', async () => {
    const { server, url } = await startServer();
    server.connections$.subscribe((conn) =>
      conn.messages$.subscribe((m) => conn.sink.next(m.data)),
    );

    const a = await openClient(url);
    a.send('hello');
    await nextMessage(a);
    a.send('abc');
    await nextMessage(a);
    const traffic = { messagesIn: 2, bytesIn: 8, messagesOut: 2, bytesOut: 8 };
    expect(server.stats).toMatchObject(traffic);

    const gone = firstValueFrom(server.disconnections$);
    a.close();
    await gone;
    expect(server.stats).toMatchObject({ ...traffic, connections: { open: 0, closed: 1 } });

    const b = await openClient(url);
    b.send('xy');
    await nextMessage(b);
    expect(server.stats).toMatchObject({
      messagesIn: 3,
      bytesIn: 10,
      messagesOut: 3,
      bytesOut: 10,
    });
  });

  it("counts queued sends, drops and how long sends waited, with 'drop-newest' and a client that stops reading", async () => {
    const { server, conn, socket } = await stuck({
      maxQueue: { bytes: 4 },
      overflow: 'drop-newest',
    });
    // The big message that filled the socket was written at once: no wait recorded.
    expect(server.stats.sendQueueWait).toEqual({ count: 0, p50: 0, p99: 0, max: 0 });
    conn.sink.next('aa');
    conn.sink.next('bb');
    conn.sink.next('cc');
    expect(server.stats).toMatchObject({
      queuedMessages: 2,
      queuedBytes: 4,
      drops: { ...noDrops, 'drop-newest': 1 },
      sendQueueWait: { count: 0 },
    });

    await readAll(socket, 3);
    const stats = server.stats;
    expect(stats).toMatchObject({
      queuedMessages: 0,
      queuedBytes: 0,
      messagesOut: 3,
      bytesOut: BIG + 4,
      drops: { ...noDrops, 'drop-newest': 1 },
    });
    const { count, p50, p99, max } = stats.sendQueueWait;
    expect(count).toBe(2);
    expect(Number.isFinite(max)).toBe(true);
    expect(0 <= p50 && p50 <= p99 && p99 <= max).toBe(true);

    await conn.terminate();
    expect(server.stats).toMatchObject({
      connections: { open: 0, closed: 1 },
      messagesOut: 3,
      drops: { ...noDrops, 'drop-newest': 1 },
      sendQueueWait: { count: 2 },
    });
  });
});
