import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { firstValueFrom, take, toArray, type Observable } from 'rxjs';
import { createServer, ListenError, RxwsError, type LogEntry } from '../src';
import { cleanup, clientClosed, nextMessage, openClient, startServer } from './helpers/server';
import { rawHttp, tcpConnect, upgradeRequest } from './helpers/raw';

afterEach(cleanup);

describe('RxwsServer.listen', () => {
  it('resolves the real port for port 0 and tells listening$', async () => {
    const server = createServer({ host: '127.0.0.1', port: 0 });
    const states: boolean[] = [];
    server.listening$.subscribe((v) => states.push(v));
    expect(server.listening).toBe(false);
    const address = await server.listen();
    expect(address.address).toBe('127.0.0.1');
    expect(address.family).toBe('IPv4');
    expect(address.port).toBeGreaterThan(0);
    expect(server.address).toEqual(address);
    expect(await server.listen()).toEqual(address);
    await server.shutdown();
    expect(states).toEqual([false, true, false]);
    expect(server.address).toBeNull();
  });

  it('listens on ::1', async () => {
    const server = createServer({ host: '::1', port: 0 });
    const { port, family } = await server.listen();
    expect(family).toBe('IPv6');
    const ws = await openClient(`ws://[::1]:${port}`);
    const closed = clientClosed(ws);
    await server.shutdown();
    expect(await closed).toEqual({ code: 1001, reason: '' });
  });

  it('rejects with ERR_ADDRESS_IN_USE when the port is taken', async () => {
    const { port } = await startServer();
    const second = createServer({ host: '127.0.0.1', port });
    const err = await second.listen().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect((err as ListenError).code).toBe('ERR_ADDRESS_IN_USE');
    expect((err as ListenError).message).toBe(`127.0.0.1:${port} is already in use`);
    expect(((err as ListenError).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
    await second.shutdown();
  });

  it('rejects listen() after shutdown with ERR_SHUTTING_DOWN', async () => {
    const server = createServer({ host: '127.0.0.1' });
    await server.shutdown();
    await expect(server.listen()).rejects.toMatchObject({ code: 'ERR_SHUTTING_DOWN' });
  });
});

describe('RxwsServer.stopListening', () => {
  it('stops accepting and keeps open connections', async () => {
    const { server, url, port } = await startServer();
    server.connections$.subscribe((c) => c.messages$.subscribe((m) => c.sink.next(m.data)));
    const ws = await openClient(url);
    await server.stopListening();
    expect(server.listening).toBe(false);
    await expect(tcpConnect(port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const reply = nextMessage(ws);
    ws.send('still here');
    expect((await reply).data.toString()).toBe('still here');
  });
});

describe('RxwsServer.shutdown', () => {
  it('closes every client with 1001, completes every stream and is safe to call twice', async () => {
    const { server, url } = await startServer();
    const completed: string[] = [];
    for (const name of [
      'connections$',
      'messages$',
      'disconnections$',
      'errors$',
      'logs$',
      'listening$',
    ] as const) {
      (server[name] as Observable<unknown>).subscribe({ complete: () => completed.push(name) });
    }
    const disconnections = firstValueFrom(server.disconnections$.pipe(take(2), toArray()));
    const a = await openClient(url);
    const b = await openClient(url);
    const closedA = clientClosed(a);
    const closedB = clientClosed(b);
    const first = server.shutdown();
    const second = server.shutdown();
    expect(second).toBe(first);
    await first;
    expect(await closedA).toEqual({ code: 1001, reason: '' });
    expect(await closedB).toEqual({ code: 1001, reason: '' });
    expect((await disconnections).map((d) => [d.code, d.wasClean])).toEqual([
      [1001, true],
      [1001, true],
    ]);
    expect(completed.sort()).toEqual([
      'connections$',
      'disconnections$',
      'errors$',
      'listening$',
      'logs$',
      'messages$',
    ]);
    expect(server.connections.size).toBe(0);
  });

  it('uses disconnectStatusCode and disconnectStatusDescription when set', async () => {
    const { server, url } = await startServer({
      disconnectStatusCode: 4000,
      disconnectStatusDescription: 'maintenance',
    });
    const ws = await openClient(url);
    const closed = clientClosed(ws);
    await server.shutdown();
    expect(await closed).toEqual({ code: 4000, reason: 'maintenance' });
  });

  it('destroys a client that never answers the close frame after closeTimeout', async () => {
    const { server, port } = await startServer({ closeTimeout: 200 });
    const socket = await tcpConnect(port);
    const opened = firstValueFrom(server.connections$);
    socket.write(upgradeRequest('/', [], port));
    const conn = await opened;
    socket.on('data', () => undefined); // reads, never answers
    const closedAt = Date.now();
    await server.shutdown();
    expect(await firstValueFrom(conn.closed$)).toEqual({ code: 1001, reason: '', wasClean: false });
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(150);
    expect(socket.destroyed || (await new Promise((r) => socket.once('close', r)))).toBeTruthy();
  });

  it('rejects an invalid code, and does not shut down', async () => {
    const server = createServer();
    await expect(server.shutdown({ code: 1006 })).rejects.toThrow(
      'shutdown code must be 1000-1003, 1007-1014 or 3000-4999, got 1006',
    );
    await server.listen();
    expect(server.listening).toBe(true);
    await server.shutdown();
  });
});

describe('RxwsServer.disconnect', () => {
  it('closes the connection with that id, with the given code and reason', async () => {
    const { server, url } = await startServer();
    const opened = firstValueFrom(server.connections$);
    const ws = await openClient(url);
    const conn = await opened;
    expect(server.connections.get(conn.id)).toBe(conn);
    const closed = clientClosed(ws);
    const info = await server.disconnect(conn.id, 4001, 'bye');
    expect(info).toEqual({ code: 4001, reason: 'bye', wasClean: true });
    expect(await closed).toEqual({ code: 4001, reason: 'bye' });
    expect(server.connections.has(conn.id)).toBe(false);
  });

  it('rejects with ERR_NOT_OPEN for an unknown id', async () => {
    const { server } = await startServer();
    const err = await server.disconnect('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RxwsError);
    expect((err as RxwsError).code).toBe('ERR_NOT_OPEN');
  });
});

describe('RxwsServer.logs$', () => {
  it('logs listening, accept, open and close at info level, and the request only at verbose', async () => {
    const info: LogEntry[] = [];
    const verbose: LogEntry[] = [];
    const a = await startServer({ logLevel: 1 });
    const b = await startServer({ logLevel: 2 });
    a.server.logs$.subscribe((e) => info.push(e));
    b.server.logs$.subscribe((e) => verbose.push(e));
    for (const { server, url } of [a, b]) {
      const done = firstValueFrom(server.disconnections$);
      const ws = await openClient(`${url}/room`);
      ws.close(1000, 'done');
      await done;
    }
    expect(info.map((e) => e.type)).toEqual(['accepted', 'open', 'close']);
    expect(verbose.map((e) => e.type)).toEqual(['accepted', 'request', 'open', 'close']);
    expect(info[2]).toMatchObject({ level: 1, code: 1000, reason: 'done', connectionId: '1' });
  });

  it('logs nothing at level 0', async () => {
    const entries: LogEntry[] = [];
    const { server, url } = await startServer({ logLevel: 0 });
    server.logs$.subscribe((e) => entries.push(e));
    const done = firstValueFrom(server.disconnections$);
    (await openClient(url)).close();
    await done;
    expect(entries).toEqual([]);
  });
});

describe('createServer({ server })', () => {
  let http: HttpServer;
  afterEach(() => new Promise<void>((r) => (http.listening ? http.close(() => r()) : r())));

  it('handles upgrades to its path and leaves plain requests to the http.Server', async () => {
    http = createHttpServer((_req, res) => res.end('hello from http'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const port = (http.address() as { port: number }).port;
    const server = createServer({ server: http, path: '/ws' });
    server.connections$.subscribe((c) =>
      c.messages$.subscribe((m) => c.sink.next(`echo ${String(m.data)}`)),
    );
    expect((await server.listen()).port).toBe(port);

    const plain = await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(plain.status).toBe(200);
    expect(plain.body).toBe('hello from http');

    const ws = await openClient(`ws://127.0.0.1:${port}/ws?x=1`);
    const reply = nextMessage(ws);
    ws.send('hi');
    expect((await reply).data.toString()).toBe('echo hi');

    const wrongPath = await rawHttp(port, upgradeRequest('/other', [], port));
    expect(wrongPath.status).toBe(404);

    await server.shutdown();
    expect(http.listening).toBe(true);
    http.closeAllConnections();
  });
});
