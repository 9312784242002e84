import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { filter, firstValueFrom } from 'rxjs';
import type { ClientCertificateInfo, LogEntry, ServerOptions } from '../../src';
import { aliceAccepted, testCerts, type TestCerts } from '../helpers/certs';
import { cleanup, startServer } from '../helpers/server';

/**
 * An independent peer over TLS: the Python `websockets` library on Python's `ssl` module (its
 * own binding of OpenSSL, its own certificate checks), driven by a small script. It trusts the
 * test CA only and checks the server's name as `localhost`; with a client certificate when
 * asked. `scripts/pretest.sh` installs it (Debian's python3-websockets).
 */
const PYTHON = '/usr/bin/python3';
const SCRIPT = String.raw`
import asyncio, hashlib, json, ssl, sys, websockets

async def main(url, ca, cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    out = {}
    try:
        async with websockets.connect(url, ssl=ctx, server_hostname='localhost', max_size=None) as ws:
            tls = ws.transport.get_extra_info('ssl_object')
            out['tls'] = {
                'version': tls.version(),
                'cipher': tls.cipher()[0],
                'server': dict(x[0] for x in tls.getpeercert()['subject']),
            }
            await ws.send('héllo over tls')
            out['text'] = await ws.recv()
            await ws.send(bytes([0, 1, 2, 255]))
            out['binary'] = list(await ws.recv())
            # Larger than a TLS record (16 KiB): it crosses several records both ways.
            big = bytes(i % 251 for i in range(300000))
            await ws.send(big)
            echoed = await ws.recv()
            out['big'] = [len(echoed), hashlib.sha256(echoed).hexdigest()]
            await ws.close(4000, 'bye')
            out['close'] = [ws.close_code, ws.close_reason]
    except Exception as e:
        out['error'] = type(e).__name__
    print(json.dumps(out))

asyncio.run(main(*sys.argv[1:]))
`;

const BIG = Buffer.from(Array.from({ length: 300000 }, (_, i) => i % 251));

let c: TestCerts;
beforeAll(() => {
  c = testCerts();
});
afterAll(() => c.remove());
afterEach(cleanup);

/** Runs the script against `url`; resolves with what it printed, as JSON. */
function runPython(url: string, clientCert?: 'client'): Promise<Record<string, unknown>> {
  const args = [
    '-c',
    SCRIPT,
    url,
    c.file('ca.crt'),
    clientCert ? c.file(`${clientCert}.crt`) : '',
    clientCert ? c.file(`${clientCert}.key`) : '',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as Record<string, unknown>)
        : reject(
            new Error(
              `python websockets client exited ${code}: ${err}` +
                (err.includes("No module named 'websockets'")
                  ? '\n(install it: apt-get install -y python3-websockets)'
                  : ''),
            ),
          ),
    );
  });
}

/** A wss server with the test CA's certificate for localhost, echoing every message. */
async function wss(options: ServerOptions = {}) {
  const started = await startServer({
    ...options,
    tls: { cert: c.serverCert, key: c.serverKey, ...options.tls },
  });
  started.server.connections$.subscribe((conn) =>
    conn.messages$.subscribe((m) => conn.sink.next(m.data)),
  );
  return { ...started, url: `wss://127.0.0.1:${started.port}/py` };
}

/** What the script prints after a full echo over TLS 1.3 with the default settings. */
const ECHOED = {
  tls: {
    version: 'TLSv1.3',
    cipher: 'TLS_AES_256_GCM_SHA384',
    server: { commonName: 'localhost' },
  },
  text: 'héllo over tls',
  binary: [0, 1, 2, 255],
  big: [BIG.length, createHash('sha256').update(BIG).digest('hex')],
  close: [4000, 'bye'],
};

describe('interoperability with Python websockets over TLS', () => {
  it('echoes over wss:// with the server checked against the test CA as localhost', async () => {
    const { server, url } = await wss();
    const opened = firstValueFrom(server.connections$);
    // A default value: if the client fails, shutdown completes disconnections$ without one,
    // and the test must fail on the client's error, not on an EmptyError.
    const closed = firstValueFrom(server.disconnections$, { defaultValue: undefined });
    expect(await runPython(url)).toEqual(ECHOED);
    const conn = await opened;
    expect(conn.tls).toEqual({
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
    });
    expect(await closed).toMatchObject({ code: 4000, reason: 'bye', wasClean: true });
  });

  it('echoes for a client whose certificate onClientCertificate accepts', async () => {
    const infos: ClientCertificateInfo[] = [];
    const { server, url } = await wss({
      tls: { cert: c.serverCert, key: c.serverKey, requestClientCert: true, ca: c.caCert },
      onClientCertificate: (info) => {
        infos.push(info);
        return info.accept;
      },
    });
    const opened = firstValueFrom(server.connections$);
    const closed = firstValueFrom(server.disconnections$, { defaultValue: undefined });
    expect(await runPython(url, 'client')).toEqual(ECHOED);
    const alice = new X509Certificate(c.clientCert);
    expect(infos).toEqual([aliceAccepted(c)]);
    const conn = await opened;
    expect(conn.tls).toMatchObject({
      verdict: 'OK',
      peerCertificate: { subject: 'CN=alice', fingerprint256: alice.fingerprint256 },
    });
    expect(await closed).toMatchObject({ code: 4000, reason: 'bye', wasClean: true });
  });

  it('never opens for a client whose good certificate onClientCertificate refuses', async () => {
    type Refusal = Extract<LogEntry, { type: 'refused' }>;
    const opened: string[] = [];
    const { server, url } = await wss({
      tls: { cert: c.serverCert, key: c.serverKey, requestClientCert: true, ca: c.caCert },
      onClientCertificate: () => false,
      onOpenRequest: (req) => {
        opened.push(req.url);
        return true;
      },
    });
    const refused = firstValueFrom(
      server.logs$.pipe(filter((e): e is Refusal => e.type === 'refused')),
    );
    // The TLS handshake completes (TLS 1.3 finishes on the client's side before the server
    // has read its certificate); then the server drops the socket instead of answering HTTP.
    // websockets reports the end of the stream, or a reset, before any response the same way.
    expect(await runPython(url, 'client')).toEqual({ error: 'InvalidMessage' });
    expect(await refused).toMatchObject({
      stage: 'tls',
      code: 'ERR_CLIENT_CERT',
      reason: 'client certificate rejected (OK)',
      remoteAddress: '127.0.0.1',
    });
    expect(opened).toEqual([]);
  });
});
