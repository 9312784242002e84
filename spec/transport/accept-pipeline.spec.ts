import {
  filter,
  firstValueFrom,
  map,
  mergeMap,
  timer,
  type MonoTypeOperatorFunction,
  type Observable,
} from 'rxjs';
import WebSocket from 'ws';
import {
  admitWhen,
  allowedClients,
  ConnectionRefusedError,
  createServer,
  limitConnections,
  type ConnectionRequest,
  type LogEntry,
  type RefusableOpenRequest,
  type RxwsError,
} from '../../src';
import { cleanup, clientClosed, openClient, startServer } from '../helpers/server';
import { bytesUntilClosed, rawHttp, upgradeRequest } from '../helpers/raw';

afterEach(cleanup);

function refusals(logs: LogEntry[]) {
  return logs.flatMap((e) => (e.type === 'refused' ? [[e.stage, e.code, e.reason]] : []));
}

/** The user's own rule, as a stateful operator: every second connection request is refused. */
const everySecond: MonoTypeOperatorFunction<ConnectionRequest> = (requests$) => {
  let n = 0;
  return requests$.pipe(
    filter((request) => {
      if (++n % 2 === 1) return true;
      request.refuse(new ConnectionRefusedError('ERR_CONNECTION_REFUSED', 'every second one'));
      return false;
    }),
  );
};

/**
 * A pipeline whose operator throws at the first request it sees, and lets every later one
 * through: the count is shared by the subscriptions the server makes of it.
 */
function failingOnce<T>(message: string): (requests$: Observable<T>) => Observable<T> {
  let calls = 0;
  return (requests$) =>
    requests$.pipe(
      map((r) => {
        if (++calls === 1) throw new Error(message);
        return r;
      }),
    );
}

describe('connectionPipeline', () => {
  it("refuses by the user's own rule, without a byte written, and lets the others open", async () => {
    const { server, port, url } = await startServer({ connectionPipeline: everySecond });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const first = await openClient(url);
    expect(await bytesUntilClosed(port)).toBe(0);
    const third = await openClient(url);
    expect([first.readyState, third.readyState]).toEqual([WebSocket.OPEN, WebSocket.OPEN]);
    expect(refusals(logs)).toEqual([['connection', 'ERR_CONNECTION_REFUSED', 'every second one']]);
  });

  it('runs allowedClients() like any other operator, after the limits', async () => {
    const { server, port } = await startServer({
      connectionPipeline: (requests$) => requests$.pipe(allowedClients(['10.0.0.0/8'])),
    });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    expect(await bytesUntilClosed(port)).toBe(0);
    expect(refusals(logs)).toEqual([
      ['connection', 'ERR_NOT_ALLOWED', '127.0.0.1 is not in allowedClients'],
    ]);
  });

  it('waits for an answer that comes later, then asks onConnectionRequest', async () => {
    const asked: number[] = [];
    const { url } = await startServer({
      connectionPipeline: (requests$) =>
        requests$.pipe(mergeMap((r) => timer(20).pipe(map(() => r)))),
      onConnectionRequest: (r) => {
        asked.push(r.remotePort);
        return true;
      },
    });
    const ws = await openClient(url);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(asked).toHaveLength(1);
  });

  it('reports ERR_HOOK when it fails, refuses that request and subscribes again for the next', async () => {
    const { server, port, url } = await startServer({
      connectionPipeline: failingOnce('rule store unavailable'),
    });
    const errors: RxwsError[] = [];
    server.errors$.subscribe((e) => errors.push(e));
    expect(await bytesUntilClosed(port)).toBe(0);
    const ws = await openClient(url);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(errors.map((e) => [e.name, e.code, e.message])).toEqual([
      ['HookError', 'ERR_HOOK', 'connectionPipeline failed: rule store unavailable'],
    ]);
  });
});

describe('openPipeline', () => {
  const withKey = admitWhen<RefusableOpenRequest>((r) => r.headers['x-api-key'] === 'k1', {
    status: 401,
    reason: 'API key required',
  });

  it('rejects by the user rule with its HTTP status and reason, and lets the others open', async () => {
    const { server, port, url } = await startServer({
      openPipeline: (requests$) => requests$.pipe(withKey),
    });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const response = await rawHttp(port, upgradeRequest('/', [], port));
    expect([response.status, response.body]).toEqual([401, 'API key required']);
    const ws = await openClient(url, undefined, { headers: { 'x-api-key': 'k1' } });
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(refusals(logs)).toEqual([['open', 401, 'API key required']]);
  });

  it('answers 403 for allowedClients() and runs before onOpenRequest', async () => {
    let asked = 0;
    const { port } = await startServer({
      openPipeline: (requests$) => requests$.pipe(allowedClients('10.0.0.1')),
      onOpenRequest: () => {
        asked++;
        return true;
      },
    });
    const response = await rawHttp(port, upgradeRequest('/', [], port));
    expect([response.status, response.body]).toEqual([403, '127.0.0.1 is not in allowedClients']);
    expect(asked).toBe(0);
  });

  it('answers a bare 500 when it fails, reports ERR_HOOK and subscribes again for the next', async () => {
    const { server, port, url } = await startServer({
      openPipeline: failingOnce('session store down'),
    });
    const errors: RxwsError[] = [];
    server.errors$.subscribe((e) => errors.push(e));
    const response = await rawHttp(port, upgradeRequest('/', [], port));
    expect([response.status, response.body]).toEqual([500, 'Internal Server Error']);
    const ws = await openClient(url);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['ERR_HOOK', 'openPipeline failed: session store down'],
    ]);
  });

  it('answers 500 and reports ERR_HOOK for a refusal with a status outside 300-599', async () => {
    const { server, port } = await startServer({
      openPipeline: (requests$) =>
        requests$.pipe(
          filter((r) => {
            r.refuse(new ConnectionRefusedError('ERR_CONNECTION_REFUSED', 'no', { status: 200 }));
            return false;
          }),
        ),
    });
    const errors: RxwsError[] = [];
    server.errors$.subscribe((e) => errors.push(e));
    const response = await rawHttp(port, upgradeRequest('/', [], port));
    expect(response.status).toBe(500);
    expect(errors.map((e) => e.message)).toEqual([
      'openPipeline refused with status 200; it must be an integer from 300 to 599',
    ]);
  });
});

describe('limitConnections() in openPipeline', () => {
  it('allows at most 2 connections per API key, and one more once one of them closes', async () => {
    const { server, port, url } = await startServer({
      openPipeline: (requests$) =>
        requests$.pipe(limitConnections(2, { key: (r) => String(r.headers['x-api-key']) })),
    });
    const as = (key: string) => openClient(url, undefined, { headers: { 'x-api-key': key } });
    const [first] = await Promise.all([as('k1'), as('k1'), as('k2')]);
    const third = await rawHttp(port, upgradeRequest('/', ['x-api-key: k1'], port));
    expect([third.status, third.body]).toEqual([503, 'at most 2 connections per key']);
    const gone = firstValueFrom(server.disconnections$);
    first.close(1000);
    await gone;
    const again = await as('k1');
    expect(again.readyState).toBe(WebSocket.OPEN);
  });
});

describe('per-connection data', () => {
  it('is what onOpenRequest accepted with, typed, in handlers, messages$ and disconnections$', async () => {
    interface Session {
      readonly user: string;
    }
    const server = createServer({
      host: '127.0.0.1',
      port: 0,
      onOpenRequest: async (request) => {
        const user = request.headers['x-user'];
        if (typeof user !== 'string') return { accept: false, status: 401 };
        return { accept: true, data: { user } as Session };
      },
    });
    try {
      const { port } = await server.listen();
      const seen: string[] = [];
      server.connections$.subscribe((conn) => seen.push(`open ${conn.data.user}`));
      server.messages$.subscribe((m) => seen.push(`${m.connection.data.user}: ${String(m.data)}`));
      const gone = firstValueFrom(server.disconnections$);
      const ws = await openClient(`ws://127.0.0.1:${port}`, undefined, {
        headers: { 'x-user': 'ann' },
      });
      const closed = clientClosed(ws);
      ws.send('hi');
      const message = await firstValueFrom(server.messages$);
      expect(message.connection.data).toEqual({ user: 'ann' });
      await message.connection.disconnect(1000, 'bye');
      const disconnection = await gone;
      expect(disconnection.connection.data).toEqual({ user: 'ann' });
      expect(await closed).toEqual({ code: 1000, reason: 'bye' });
      expect(seen).toEqual(['open ann', 'ann: hi']);
      const refused = await rawHttp(port, upgradeRequest('/', [], port));
      expect(refused.status).toBe(401);
    } finally {
      await server.shutdown();
    }
  });

  it('is undefined without a hook, and a handler may replace it', async () => {
    const { server, url } = await startServer();
    const opened = firstValueFrom(server.connections$);
    await openClient(url);
    const conn = await opened;
    expect(conn.data).toBeUndefined();
    conn.data = { step: 2 };
    expect(server.connections.get(conn.id)?.data).toEqual({ step: 2 });
  });
});
