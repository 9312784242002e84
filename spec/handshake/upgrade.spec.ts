import { firstValueFrom, timer, map } from 'rxjs';
import type { IncomingMessage } from 'node:http';
import type { LogEntry, OpenRequest } from '../../src';
import { cleanup, openClient, startServer } from '../helpers/server';
import { rawHttp, upgradeRequest } from '../helpers/raw';

afterEach(cleanup);

describe('the open-request stage', () => {
  it('shows onOpenRequest the url, host, origin, headers, subprotocols and extensions', async () => {
    const seen: OpenRequest[] = [];
    const { port } = await startServer({
      onOpenRequest: (r) => {
        seen.push(r);
        return true;
      },
    });
    await rawHttp(
      port,
      upgradeRequest(
        '/chat?room=1',
        [
          'Origin: http://app.test',
          'Sec-WebSocket-Protocol: v2, v1',
          'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
          'X-Token: abc',
        ],
        port,
      ).replace('\r\n\r\n', '\r\n\r\n' + String.fromCharCode(0x88, 0x80, 1, 2, 3, 4)),
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      url: '/chat?room=1',
      host: `127.0.0.1:${port}`,
      origin: 'http://app.test',
      subprotocols: ['v2', 'v1'],
      extensions: ['permessage-deflate'],
      remoteAddress: '127.0.0.1',
    });
    expect(seen[0].headers['x-token']).toBe('abc');
  });

  it('rejects an upgrade without a Host header with 400 (RFC 6455 section 4.1)', async () => {
    const { server, port } = await startServer();
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const request = upgradeRequest('/', [], port).replace(/Host: [^\r]*\r\n/, '');
    expect(request).not.toContain('Host:');
    const res = await rawHttp(port, request);
    expect(res.status).toBe(400);
    expect(res.body).toBe('Missing Host header');
    expect(
      logs.filter((e) => e.type === 'refused').map((e) => [e.stage, e.code, e.reason]),
    ).toEqual([['handshake', 400, 'Missing Host header']]);
  });

  it('answers a rejection with its status, headers and reason, then closes', async () => {
    const { server, port } = await startServer({
      onOpenRequest: () => ({
        accept: false,
        status: 401,
        reason: 'token required',
        headers: { 'WWW-Authenticate': 'Bearer realm="chat"' },
      }),
    });
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const res = await rawHttp(port, upgradeRequest('/', [], port));
    expect(res.text.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    expect(res.headers['www-authenticate']).toBe('Bearer realm="chat"');
    expect(res.headers.connection).toBe('close');
    expect(res.headers['content-length']).toBe('14');
    expect(res.body).toBe('token required');
    expect(
      logs.filter((e) => e.type === 'refused').map((e) => [e.stage, e.code, e.reason]),
    ).toEqual([['open', 401, 'token required']]);
  });

  it.each([
    ['false', () => false, 403, 'Forbidden', {}],
    [
      'a Promise',
      () =>
        Promise.resolve({ accept: false as const, status: 429, headers: { 'Retry-After': '30' } }),
      429,
      'Too Many Requests',
      { 'retry-after': '30' },
    ],
    [
      'an Observable',
      () => timer(10).pipe(map(() => ({ accept: false as const, status: 503 }))),
      503,
      'Service Unavailable',
      {},
    ],
    [
      'a 404',
      () => ({ accept: false as const, status: 404, reason: 'no such room' }),
      404,
      'no such room',
      {},
    ],
  ])('rejects when onOpenRequest answers %s', async (_name, hook, status, body, headers) => {
    const { port } = await startServer({ onOpenRequest: hook });
    const res = await rawHttp(port, upgradeRequest('/', [], port));
    expect(res.status).toBe(status);
    expect(res.body).toBe(body);
    expect(res.headers).toMatchObject(headers);
  });

  it('answers 500 and reports ERR_HOOK when onOpenRequest throws or answers nonsense', async () => {
    const { server, port } = await startServer({
      onOpenRequest: (r) => {
        if (r.url === '/throw') throw new Error('boom');
        return { accept: false, status: 99 };
      },
    });
    const errors: string[] = [];
    server.errors$.subscribe((e) => errors.push(`${e.code}: ${e.message}`));
    expect((await rawHttp(port, upgradeRequest('/throw', [], port))).status).toBe(500);
    expect((await rawHttp(port, upgradeRequest('/bad', [], port))).status).toBe(500);
    expect(errors).toEqual([
      'ERR_HOOK: onOpenRequest failed: boom',
      'ERR_HOOK: onOpenRequest failed: onOpenRequest rejected with status 99; it must be an integer from 300 to 599',
    ]);
  });

  it('refuses response headers that would inject lines', async () => {
    const { server, port } = await startServer({
      onOpenRequest: () => ({
        accept: false,
        status: 401,
        headers: { 'X-Evil': 'a\r\nSet-Cookie: x=1' },
      }),
    });
    const error = firstValueFrom(server.errors$);
    const res = await rawHttp(port, upgradeRequest('/', [], port));
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('Set-Cookie');
    expect((await error).code).toBe('ERR_HOOK');
  });

  it('accepts with the chosen subprotocol and extra headers', async () => {
    const { server, url } = await startServer({
      onOpenRequest: () => ({
        accept: true,
        protocol: 'v1',
        headers: { 'X-Session': 's-1', Upgrade: 'nope' },
      }),
    });
    const opened = firstValueFrom(server.connections$);
    const responses: IncomingMessage[] = [];
    const ws = await openClient(url, ['v2', 'v1'], {
      finishRequest: (req) => {
        req.on('upgrade', (res: IncomingMessage) => responses.push(res));
        req.end();
      },
    });
    expect(ws.protocol).toBe('v1');
    expect(responses[0].headers['x-session']).toBe('s-1');
    expect(responses[0].headers.upgrade).toBe('websocket');
    const conn = await opened;
    expect(conn.protocol).toBe('v1');
    expect(conn.request.subprotocols).toEqual(['v2', 'v1']);
    ws.close();
  });

  it('chooses the first offered subprotocol the server lists', async () => {
    const { url } = await startServer({ protocols: ['v1', 'v2'] });
    const ws = await openClient(url, ['v3', 'v2', 'v1']);
    expect(ws.protocol).toBe('v2');
  });

  it('chooses the first offered subprotocol when the server lists none', async () => {
    const { url } = await startServer();
    expect((await openClient(url, ['x', 'y'])).protocol).toBe('x');
  });

  it('answers none when no offered subprotocol is listed, and the connection opens without one', async () => {
    const { server, port } = await startServer({ protocols: ['v1'] });
    const opened = firstValueFrom(server.connections$);
    const res = rawHttp(port, upgradeRequest('/', ['Sec-WebSocket-Protocol: v9'], port));
    const conn = await opened;
    expect(conn.protocol).toBe('');
    await conn.terminate();
    const text = (await res).text;
    expect(text.startsWith('HTTP/1.1 101 Switching Protocols')).toBe(true);
    expect(text.toLowerCase()).not.toContain('sec-websocket-protocol');
  });
});

describe('requests that are not valid upgrades', () => {
  it('answers a plain GET with 426 Upgrade Required', async () => {
    const { port } = await startServer();
    const res = await rawHttp(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(res.status).toBe(426);
    expect(res.headers.upgrade).toBe('websocket');
  });

  it.each([
    ['POST', upgradeRequest('/').replace('GET', 'POST'), 405, {}],
    ['no key', upgradeRequest('/').replace(/Sec-WebSocket-Key: .*\r\n/, ''), 400, {}],
    [
      'a bad version',
      upgradeRequest('/').replace('Version: 13', 'Version: 12'),
      400,
      { 'sec-websocket-version': '13, 8' },
    ],
    ['a bad Upgrade', upgradeRequest('/').replace('Upgrade: websocket', 'Upgrade: h2c'), 400, {}],
    ['duplicate subprotocols', upgradeRequest('/', ['Sec-WebSocket-Protocol: a, a']), 400, {}],
  ])('answers an upgrade with %s with %d', async (_name, request, status, headers) => {
    const { server, port } = await startServer();
    const logs: LogEntry[] = [];
    server.logs$.subscribe((e) => logs.push(e));
    const res = await rawHttp(port, request);
    expect(res.status).toBe(status);
    expect(res.headers).toMatchObject(headers);
    expect(logs.filter((e) => e.type === 'refused').map((e) => [e.stage, e.code])).toEqual([
      ['handshake', status],
    ]);
  });

  it('answers 404 for a path other than "path"', async () => {
    const { port, url } = await startServer({ path: '/ws' });
    expect((await rawHttp(port, upgradeRequest('/other'))).status).toBe(404);
    expect((await openClient(`${url}/ws?token=1`)).readyState).toBe(1);
  });

  it('answers malformed HTTP with 400', async () => {
    const { port } = await startServer();
    expect((await rawHttp(port, 'NOT HTTP AT ALL\r\n\r\n')).status).toBe(400);
  });
});
