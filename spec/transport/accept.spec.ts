import { firstValueFrom, filter, of, timer, map } from 'rxjs';
import type { Socket } from 'node:net';
import type { ConnectionRequestInfo, LogEntry } from '../../src';
import { cleanup, openClient, startServer } from '../helpers/server';
import { bytesUntilClosed, tcpConnect } from '../helpers/raw';

afterEach(cleanup);

function refusals(logs: LogEntry[]) {
  return logs.filter((e) => e.type === 'refused').map((e) => [e.stage, e.code, e.reason]);
}

describe('the connection-request stage', () => {
  it.each([['127.0.0.1'], ['127.0.0.*'], ['127.0.0.0/8'], ['10.0.0.1, 127.0.0.1']])(
    'accepts a client that allowedClients %j lists',
    async (allowedClients) => {
      const { url } = await startServer({ allowedClients });
      const ws = await openClient(url);
      expect(ws.readyState).toBe(ws.OPEN);
    },
  );

  it.each([['10.0.0.0/8'], ['127.0.0.2'], ['127.0.1.*'], ['::1']])(
    'refuses a client outside allowedClients %j without writing a byte',
    async (allowedClients) => {
      const { server, port } = await startServer({ allowedClients });
      const logs: LogEntry[] = [];
      server.logs$.subscribe((e) => logs.push(e));
      expect(await bytesUntilClosed(port)).toBe(0);
      expect(refusals(logs)).toEqual([
        ['connection', 'ERR_NOT_ALLOWED', '127.0.0.1 is not in allowedClients'],
      ]);
      expect(logs.some((e) => e.type === 'accepted')).toBe(false);
    },
  );

  it('tells two loopback source addresses apart', async () => {
    const { server, port } = await startServer({ allowedClients: ['127.0.0.2'] });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    expect(await bytesUntilClosed(port, '127.0.0.1', '127.0.0.1')).toBe(0);
    const ws = await openClient(`ws://127.0.0.1:${port}`, undefined, { localAddress: '127.0.0.2' });
    expect(ws.readyState).toBe(ws.OPEN);
    expect(refusals(logs)).toHaveLength(1);
  });

  it('applies IPv6 entries to IPv6 clients', async () => {
    const a = await startServer({ host: '::1', allowedClients: ['::1/128'] });
    const ws = await openClient(`ws://[::1]:${a.port}`);
    expect(ws.readyState).toBe(ws.OPEN);
    const b = await startServer({ host: '::1', allowedClients: ['fd00::/8'] });
    expect(await bytesUntilClosed(b.port, '::1')).toBe(0);
  });

  it('refuses sockets over maxConnections and accepts again once one closes', async () => {
    const { server, port, url } = await startServer({ maxConnections: 2 });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const a = await openClient(url);
    await openClient(url);
    expect(await bytesUntilClosed(port)).toBe(0);
    expect(refusals(logs)).toEqual([
      ['connection', 'ERR_MAX_CONNECTIONS', 'maxConnections (2) reached'],
    ]);
    const gone = firstValueFrom(server.disconnections$);
    a.close();
    await gone;
    await new Promise((r) => setImmediate(r));
    const c = await openClient(url);
    expect(c.readyState).toBe(c.OPEN);
  });

  it('counts sockets still in the handshake against maxConnections', async () => {
    const { port } = await startServer({ maxConnections: 1 });
    // Connected first, so accepted first: it holds the only place while it sends nothing.
    const idle: Socket = await tcpConnect(port);
    expect(await bytesUntilClosed(port)).toBe(0);
    idle.destroy();
  });

  it('asks onConnectionRequest with the addresses of both ends', async () => {
    const seen: ConnectionRequestInfo[] = [];
    const { port, url } = await startServer({
      onConnectionRequest: (r) => {
        seen.push({
          remoteAddress: r.remoteAddress,
          remotePort: r.remotePort,
          localAddress: r.localAddress,
          localPort: r.localPort,
        });
        return true;
      },
    });
    const ws = await openClient(url);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      remoteAddress: '127.0.0.1',
      localAddress: '127.0.0.1',
      localPort: port,
    });
    expect(seen[0].remotePort).toBeGreaterThan(0);
    expect(ws.readyState).toBe(ws.OPEN);
  });

  it('gives onConnectionRequest the address the client reached on a wildcard bind', async () => {
    const seen: [string, number][] = [];
    const { port } = await startServer({
      host: '0.0.0.0',
      onConnectionRequest: (r) => {
        seen.push([r.localAddress, r.localPort]);
        return true;
      },
    });
    const ws = await openClient(`ws://127.0.0.2:${port}`);
    expect(ws.readyState).toBe(ws.OPEN);
    expect(seen).toEqual([['127.0.0.2', port]]);
  });

  it.each([
    ['false', () => false],
    ['a Promise of false', () => Promise.resolve(false)],
    ['an Observable of false', () => timer(20).pipe(map(() => false))],
    ['an empty Observable', () => of<boolean>().pipe(filter(Boolean))],
  ])('refuses when onConnectionRequest answers %s', async (_name, hook) => {
    const { server, port } = await startServer({ onConnectionRequest: hook });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    expect(await bytesUntilClosed(port)).toBe(0);
    expect(refusals(logs)).toEqual([
      ['connection', 'ERR_CONNECTION_REFUSED', 'refused by onConnectionRequest'],
    ]);
  });

  it('accepts when onConnectionRequest answers a Promise of true', async () => {
    const { url } = await startServer({ onConnectionRequest: async () => true });
    expect((await openClient(url)).readyState).toBe(1);
  });

  it('refuses and reports ERR_HOOK when onConnectionRequest throws', async () => {
    const { server, port } = await startServer({
      onConnectionRequest: () => {
        throw new Error('db down');
      },
    });
    const error = firstValueFrom(server.errors$);
    expect(await bytesUntilClosed(port)).toBe(0);
    expect(await error).toMatchObject({
      code: 'ERR_HOOK',
      message: 'onConnectionRequest failed: db down',
    });
  });

  it('closes a socket that sends no handshake within handshakeTimeout', async () => {
    const { server, port } = await startServer({ handshakeTimeout: 100 });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const socket = await tcpConnect(port);
    await new Promise((r) => socket.once('close', r));
    expect(refusals(logs)).toEqual([
      ['handshake', 'ERR_TIMEOUT', 'no WebSocket handshake within 100 ms'],
    ]);
  });
});
