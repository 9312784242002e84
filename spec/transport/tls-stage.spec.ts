import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { firstValueFrom, filter } from 'rxjs';
import WebSocket from 'ws';
import type {
  ClientCertificateInfo,
  LogEntry,
  OpenRequest,
  RxwsServer,
  ServerOptions,
  TlsRequestInfo,
} from '../../src';
import { testCerts, type TestCerts } from '../helpers/certs';
import { cleanup, nextMessage, startServer } from '../helpers/server';

let c: TestCerts;
beforeAll(() => {
  c = testCerts();
});
afterAll(() => c.remove());
afterEach(cleanup);

type Refusal = Extract<LogEntry, { type: 'refused' }>;

/** A wss server that echoes, with the test CA's server certificate. */
async function wss(options: ServerOptions = {}) {
  const started = await startServer({
    ...options,
    tls: { cert: c.serverCert, key: c.serverKey, ...options.tls },
  });
  started.server.connections$.subscribe((conn) =>
    conn.messages$.subscribe((m) => conn.sink.next(m.data)),
  );
  const refusals: Refusal[] = [];
  started.server.logs$.subscribe((e) => {
    if (e.type === 'refused') refusals.push(e);
  });
  return { ...started, url: `wss://localhost:${started.port}`, refusals };
}

/** Opens a wss client; resolves with it once open, or with the error that stopped it. */
function client(
  url: string,
  options: WebSocket.ClientOptions & { servername?: string } = {},
): Promise<WebSocket | Error> {
  return new Promise((resolve) => {
    // ws passes `servername` on to tls.connect().
    const ws = new WebSocket(url, { ca: c.caCert, ...options } as WebSocket.ClientOptions);
    ws.once('open', () => resolve(ws));
    ws.once('error', (err) => resolve(err));
  });
}

/** The next refusal the server logs. */
function nextRefusal(server: RxwsServer): Promise<Refusal> {
  return firstValueFrom(server.logs$.pipe(filter((e): e is Refusal => e.type === 'refused')));
}

describe('the tls stage', () => {
  it('serves wss://, and shows what was negotiated to onOpenRequest and on the connection', async () => {
    const requests: OpenRequest[] = [];
    const { server, url } = await wss({
      onOpenRequest: (req) => {
        requests.push(req);
        return true;
      },
      logLevel: 2,
    });
    const secure = firstValueFrom(
      server.logs$.pipe(filter((e) => e.type === 'tls' && e.event === 'secure')),
    );
    const opened = firstValueFrom(server.connections$);
    const ws = await client(url);
    if (ws instanceof Error) throw ws;
    ws.send('over tls');
    expect((await nextMessage(ws)).data.toString()).toBe('over tls');
    const conn = await opened;
    const facts = {
      protocol: 'TLSv1.3',
      cipher: {
        name: 'TLS_AES_256_GCM_SHA384',
        standardName: 'TLS_AES_256_GCM_SHA384',
        version: 'TLSv1.3',
      },
      cipherBits: 256,
      servername: 'localhost',
      resumed: false,
      peerCertificate: undefined,
      verdict: undefined,
    };
    expect(conn.tls).toEqual(facts);
    expect(requests.map((r) => r.tls)).toEqual([facts]);
    expect(await secure).toMatchObject({
      level: 2,
      type: 'tls',
      event: 'secure',
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_256_GCM_SHA384',
      resumed: false,
      servername: 'localhost',
      remoteAddress: '127.0.0.1',
    });
  });

  it('sends no TLS byte to a client refused at the connection stage', async () => {
    const { server, port } = await wss({ allowedClients: ['10.9.9.9'] });
    const refused = nextRefusal(server);
    const tcp: Socket = tcpConnect(port, '127.0.0.1');
    let received = 0;
    tcp.on('data', (d: Buffer) => (received += d.length));
    // A TLS client on that socket: it writes its ClientHello, the server must answer nothing.
    const tls = tlsConnect({ socket: tcp, servername: 'localhost', ca: c.caCert });
    const failed = await new Promise<string>((resolve) =>
      tls.once('error', (e) => resolve(e.message)),
    );
    await new Promise((r) => (tcp.destroyed ? r(undefined) : tcp.once('close', r)));
    expect(failed).toMatch(/socket hang up|ECONNRESET|disconnected/);
    expect(received).toBe(0);
    expect(await refused).toMatchObject({ stage: 'connection', code: 'ERR_NOT_ALLOWED' });
  });

  it('drops a TCP client that never starts TLS once handshakeTimeout has passed', async () => {
    const { server, port } = await wss({ handshakeTimeout: 200 });
    const refused = nextRefusal(server);
    const tcp = tcpConnect(port, '127.0.0.1');
    await new Promise((r) => tcp.once('close', r));
    expect(await refused).toMatchObject({
      stage: 'tls',
      code: 'ERR_TIMEOUT',
      reason: 'no TLS handshake within 200 ms',
    });
  });

  it('refuses a client below minVersion with OpenSSL reason, at the tls stage', async () => {
    const { server, url } = await wss();
    const refused = nextRefusal(server);
    const result = await client(url, {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT:@SECLEVEL=0',
    });
    expect(result).not.toBeInstanceOf(WebSocket);
    expect(await refused).toMatchObject({
      stage: 'tls',
      code: 'ERR_TLS',
      reason: 'TLS handshake failed: unsupported protocol',
    });
  });

  it('serves the certificate of the host name the client asks for (SNI)', async () => {
    const { port } = await wss({
      tls: { sni: { '*.other.test': { cert: c.otherCert, key: c.otherKey } } },
    });
    const subjects: string[] = [];
    for (const servername of ['a.other.test', 'localhost']) {
      const ws = await client(`wss://127.0.0.1:${port}`, { servername });
      if (ws instanceof Error) throw ws;
      const socket = (ws as unknown as { _socket: import('node:tls').TLSSocket })._socket;
      subjects.push(String(socket.getPeerCertificate().subject.CN));
      ws.close();
    }
    expect(subjects).toEqual(['other.test', 'localhost']);
  });

  it('takes SNI certificates given later by setTls()', async () => {
    const { server, port } = await wss();
    server.setTls({
      cert: c.serverCert,
      key: c.serverKey,
      sni: { 'other.test': { cert: c.otherCert, key: c.otherKey } },
    });
    const ws = await client(`wss://127.0.0.1:${port}`, { servername: 'other.test' });
    if (ws instanceof Error) throw ws;
    const socket = (ws as unknown as { _socket: import('node:tls').TLSSocket })._socket;
    expect(String(socket.getPeerCertificate().subject.CN)).toBe('other.test');
  });

  it('gives the new certificate to new connections after setTls(), and keeps the open ones', async () => {
    const { server, url, port } = await wss();
    const first = await client(url);
    if (first instanceof Error) throw first;
    server.setTls({ cert: c.otherCert, key: c.otherKey });
    const second = await client(`wss://127.0.0.1:${port}`, { servername: 'other.test' });
    if (second instanceof Error) throw second;
    const cn = (ws: WebSocket) =>
      (ws as unknown as { _socket: import('node:tls').TLSSocket })._socket.getPeerCertificate()
        .subject.CN;
    expect([cn(first), cn(second)]).toEqual(['localhost', 'other.test']);
    first.send('still here');
    expect((await nextMessage(first)).data.toString()).toBe('still here');
    expect(() =>
      server.setTls({ cert: c.serverCert, key: c.serverKey, requestClientCert: true }),
    ).toThrow('setTls() cannot change requestClientCert: it is fixed when the server is made');
  });
});

describe('setTls() under load', () => {
  it('swaps certificates while 100 connections keep echoing: nothing dropped, new ones get the new certificate', async () => {
    const { server, url, port } = await wss();
    const clients: WebSocket[] = [];
    for (let i = 0; i < 100; i++) {
      const ws = await client(url);
      if (ws instanceof Error) throw ws;
      clients.push(ws);
    }
    // Each client echoes without pause until told to stop: one message in flight at all times.
    const counts = clients.map(() => 0);
    const waiters: (() => void)[] = [];
    let stopping = false;
    const check = (): void => waiters.splice(0).forEach((w) => w());
    const whenAll = (done: (i: number) => boolean): Promise<void> =>
      new Promise((resolve) => {
        const test = (): void => {
          if (clients.every((_, i) => done(i))) resolve();
          else waiters.push(test);
        };
        test();
      });
    const closedEarly: number[] = [];
    clients.forEach((ws, i) => {
      ws.on('message', (data: Buffer) => {
        expect(data.toString()).toBe(`${i}:${counts[i]}`);
        counts[i] += 1;
        if (!stopping) ws.send(`${i}:${counts[i]}`);
        check();
      });
      ws.once('close', () => closedEarly.push(i));
      ws.send(`${i}:0`);
    });
    await whenAll((i) => counts[i] >= 1);
    const subjects: string[] = [];
    for (const [cert, key, servername] of [
      [c.otherCert, c.otherKey, 'other.test'],
      [c.serverCert, c.serverKey, 'localhost'],
      [c.otherCert, c.otherKey, 'other.test'],
    ] as const) {
      server.setTls({ cert, key });
      const fresh = await client(`wss://127.0.0.1:${port}`, { servername });
      if (fresh instanceof Error) throw fresh;
      const socket = (fresh as unknown as { _socket: import('node:tls').TLSSocket })._socket;
      subjects.push(String(socket.getPeerCertificate().subject.CN));
      fresh.close();
    }
    // Every connection opened before the swaps keeps echoing after them.
    const after = [...counts];
    await whenAll((i) => counts[i] >= after[i] + 5);
    stopping = true;
    expect(closedEarly).toEqual([]);
    expect(subjects).toEqual(['other.test', 'localhost', 'other.test']);
    expect(server.connections.size).toBeGreaterThanOrEqual(100);
  }, 60_000);
});

describe('onTlsRequest', () => {
  it('is asked with what the ClientHello offers, before any TLS byte is answered', async () => {
    const infos: TlsRequestInfo[] = [];
    const { url } = await wss({
      onTlsRequest: (info) => {
        infos.push(info);
        return Promise.resolve(true);
      },
    });
    const ws = await client(url);
    if (ws instanceof Error) throw ws;
    ws.send('after the hook');
    expect((await nextMessage(ws)).data.toString()).toBe('after the hook');
    expect(infos).toEqual([
      {
        remoteAddress: '127.0.0.1',
        remotePort: expect.any(Number),
        servername: 'localhost',
        alpnProtocols: [],
        versions: ['TLSv1.3', 'TLSv1.2'],
      },
    ]);
  });

  it('refuses with no TLS byte sent, and reports a hook that fails', async () => {
    const { server, port } = await wss({
      onTlsRequest: ({ servername }) => {
        if (servername === 'broken.test') throw new Error('boom');
        return servername !== 'banned.test';
      },
    });
    const errors: string[] = [];
    server.errors$.subscribe((e) => errors.push(`${e.code} ${e.message}`));
    for (const servername of ['banned.test', 'broken.test']) {
      const refused = nextRefusal(server);
      const tcp: Socket = tcpConnect(port, '127.0.0.1');
      let received = 0;
      tcp.on('data', (d: Buffer) => (received += d.length));
      const tls = tlsConnect({ socket: tcp, servername, ca: c.caCert });
      await new Promise((resolve) => tls.once('error', resolve));
      await new Promise((r) => (tcp.destroyed ? r(undefined) : tcp.once('close', r)));
      expect(received).toBe(0);
      expect(await refused).toMatchObject({
        stage: 'tls',
        code: 'ERR_CONNECTION_REFUSED',
        reason: 'refused by onTlsRequest',
      });
    }
    expect(errors).toEqual(['ERR_HOOK onTlsRequest failed: boom']);
  });

  it('refuses bytes that are not a ClientHello (plain HTTP on the wss port)', async () => {
    const { server, port } = await wss({ onTlsRequest: () => true });
    const refused = nextRefusal(server);
    const tcp = tcpConnect(port, '127.0.0.1');
    tcp.on('error', () => undefined);
    tcp.write('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n');
    await new Promise((r) => tcp.once('close', r));
    expect(await refused).toMatchObject({
      stage: 'tls',
      code: 'ERR_TLS',
      reason: 'TLS handshake failed: not a TLS handshake (a plain-text request on a TLS port?)',
    });
  });
});

describe('client certificates', () => {
  const withClientCerts = (extra: ServerOptions = {}) =>
    wss({
      ...extra,
      tls: { requestClientCert: true, ca: c.caCert, crl: c.crl },
    });

  it.each([
    ['a good one', 'client', 'OK', true],
    ['an expired one', 'expired', 'CERT_HAS_EXPIRED', false],
    ['one from a CA nobody trusts', 'untrusted', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', false],
    ['a revoked one', 'revoked', 'CERT_REVOKED', false],
    ['none', undefined, 'NO_CERTIFICATE', false],
  ] as const)('checks %s against ca and crl: %s', async (_name, who, verdict, opens) => {
    const infos: ClientCertificateInfo[] = [];
    const opened: OpenRequest[] = [];
    const { server, url } = await withClientCerts({
      onClientCertificate: (info) => {
        infos.push(info);
        return info.accept;
      },
      onOpenRequest: (req) => {
        opened.push(req);
        return true;
      },
    });
    const refused = opens ? undefined : nextRefusal(server);
    const result = await client(url, who ? { cert: c[`${who}Cert`], key: c[`${who}Key`] } : {});
    expect(infos).toHaveLength(1);
    expect(infos[0]).toMatchObject({ verdict, accept: verdict === 'OK', servername: 'localhost' });
    if (opens) {
      if (result instanceof Error) throw result;
      expect(infos[0].certificate).toMatchObject({
        subject: 'CN=alice',
        issuer: 'CN=rxws test ca',
      });
      expect(infos[0].certificate?.fingerprint256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
      expect(opened[0].tls?.verdict).toBe('OK');
      expect(opened[0].tls?.peerCertificate?.subject).toBe('CN=alice');
    } else {
      expect(await refused).toMatchObject({
        stage: 'tls',
        code: 'ERR_CLIENT_CERT',
        reason: `client certificate rejected (${verdict})`,
      });
      // A rejected client never reaches the open request.
      expect(opened).toEqual([]);
    }
  });

  it("lets onClientCertificate's answer override the verdict both ways", async () => {
    const opened: string[] = [];
    const { server, url } = await withClientCerts({
      // Accept the expired one, refuse the good one.
      onClientCertificate: async (info) => info.verdict === 'CERT_HAS_EXPIRED',
    });
    server.connections$.subscribe((conn) => opened.push(conn.tls?.peerCertificate?.subject ?? '-'));
    const expired = await client(url, { cert: c.expiredCert, key: c.expiredKey });
    if (expired instanceof Error) throw expired;
    const refused = nextRefusal(server);
    const good = await client(url, { cert: c.clientCert, key: c.clientKey });
    expect(good).not.toBeInstanceOf(WebSocket);
    expect(await refused).toMatchObject({ stage: 'tls', code: 'ERR_CLIENT_CERT' });
    expect(opened).toEqual(['CN=bob']);
  });
});
