import { createHash, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filter, firstValueFrom } from 'rxjs';
import type {
  ClientCertificateInfo,
  LogEntry,
  RxwsServer,
  ServerOptions,
  TlsOptions,
} from '../../src';
import { aliceAccepted, testCerts, type TestCerts } from '../helpers/certs';
import { closePayload, frame, Op, parseFrames } from '../helpers/frames';
import { parseResponse } from '../helpers/raw';
import {
  closeSClients,
  sClient,
  sessionLine,
  verifyResult,
  type SClient,
} from '../helpers/s-client';
import { cleanup, startServer } from '../helpers/server';

type Refusal = Extract<LogEntry, { type: 'refused' }>;
type Secure = Extract<LogEntry, { type: 'tls'; event: 'secure' }>;

let c: TestCerts;
/** Session files and key logs written by s_client, removed after the suite. */
let scratch: string;
beforeAll(() => {
  c = testCerts();
  scratch = mkdtempSync(join(tmpdir(), 'rxws-s-client-'));
});
afterAll(() => {
  c.remove();
  rmSync(scratch, { recursive: true, force: true });
});
afterEach(async () => {
  await closeSClients();
  await cleanup();
});

/** A wss server with the test CA's certificate for localhost, echoing every message. */
async function wss(tls: Partial<TlsOptions> = {}, options: ServerOptions = {}) {
  const started = await startServer({
    logLevel: 2,
    ...options,
    tls: { cert: c.serverCert, key: c.serverKey, ...tls },
  });
  started.server.connections$.subscribe((conn) =>
    conn.messages$.subscribe((m) => conn.sink.next(m.data)),
  );
  return started;
}

/** The next log entry of a kind; subscribe before the client starts. */
function next<T extends LogEntry>(server: RxwsServer, is: (e: LogEntry) => e is T): Promise<T> {
  return firstValueFrom(server.logs$.pipe(filter(is)));
}
const isRefusal = (e: LogEntry): e is Refusal => e.type === 'refused';
const isSecure = (e: LogEntry): e is Secure => e.type === 'tls' && e.event === 'secure';

/** s_client asking for `name` (SNI), checking the server's certificate for it against the test CA. */
function verifying(port: number, args: readonly string[] = [], name = 'localhost'): SClient {
  return sClient(port, [
    '-CAfile',
    c.file('ca.crt'),
    '-verify_return_error',
    '-verify_hostname',
    name,
    '-servername',
    name,
    ...args,
  ]);
}

/** Runs one handshake: s_client's input ends at once, so it closes right after it. */
async function handshake(port: number, args: readonly string[], name?: string) {
  const client = verifying(port, args, name);
  client.end();
  return client.exited;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
/** RFC 6455 section 1.3: the accept value for KEY. */
const ACCEPT = createHash('sha1')
  .update(KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
  .digest('base64');
const UPGRADE = [
  'GET /chat HTTP/1.1',
  'Host: localhost',
  'Upgrade: websocket',
  'Connection: Upgrade',
  `Sec-WebSocket-Key: ${KEY}`,
  'Sec-WebSocket-Version: 13',
  '',
  '',
].join('\r\n');

describe('the tls stage, against openssl s_client', () => {
  describe('protocol versions', () => {
    it.each([
      [
        '-tls1_2',
        'TLSv1.2',
        'ECDHE-ECDSA-AES128-GCM-SHA256',
        'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
      ],
      ['-tls1_3', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'TLS_AES_256_GCM_SHA384'],
    ])(
      'accepts %s by default, and both ends name the same protocol and cipher',
      async (flag, protocol, opensslCipher, ianaCipher) => {
        const { server, port } = await wss();
        const secure = next(server, isSecure);
        const done = await handshake(port, [flag]);
        expect(done.code).toBe(0);
        expect(sessionLine(done.stdout)).toEqual({
          reused: false,
          protocol,
          cipher: opensslCipher,
        });
        expect(verifyResult(done.stdout)).toBe('0 (ok)');
        expect(await secure).toMatchObject({
          protocol,
          cipher: ianaCipher,
          resumed: false,
          servername: 'localhost',
          verdict: undefined,
          remoteAddress: '127.0.0.1',
        });
      },
    );

    it('refuses TLS 1.1 at the tls stage, with a protocol_version alert', async () => {
      const { server, port } = await wss();
      const refused = next(server, isRefusal);
      // SECLEVEL=0 so that this s_client really offers TLS 1.1, whatever openssl.cnf says.
      const done = await handshake(port, ['-tls1_1', '-cipher', 'DEFAULT:@SECLEVEL=0']);
      expect(done.code).toBe(1);
      expect(done.stderr).toMatch(/:tlsv1 alert protocol version:.*SSL alert number 70/);
      expect(sessionLine(done.stdout)).toEqual({
        reused: false,
        protocol: '(NONE)',
        cipher: '(NONE)',
      });
      expect(await refused).toMatchObject({
        stage: 'tls',
        code: 'ERR_TLS',
        reason: 'TLS handshake failed: unsupported protocol',
        remoteAddress: '127.0.0.1',
      });
    });

    it("refuses TLS 1.2 with minVersion 'TLSv1.3', and accepts TLS 1.3", async () => {
      const { server, port } = await wss({ minVersion: 'TLSv1.3' });
      const refused = next(server, isRefusal);
      const old = await handshake(port, ['-tls1_2']);
      expect(old.code).toBe(1);
      expect(old.stderr).toMatch(/:tlsv1 alert protocol version:.*SSL alert number 70/);
      expect(await refused).toMatchObject({
        stage: 'tls',
        code: 'ERR_TLS',
        reason: 'TLS handshake failed: unsupported protocol',
      });
      const current = await handshake(port, ['-tls1_3']);
      expect(current.code).toBe(0);
      expect(sessionLine(current.stdout)).toMatchObject({ protocol: 'TLSv1.3' });
    });
  });

  describe('ciphers and groups', () => {
    it('refuses a TLS 1.2 client whose ciphers are none of `ciphers`: no shared cipher', async () => {
      const { server, port } = await wss({ ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
      const refused = next(server, isRefusal);
      const failed = await handshake(port, ['-tls1_2', '-cipher', 'ECDHE-ECDSA-AES256-GCM-SHA384']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/:sslv3 alert handshake failure:.*SSL alert number 40/);
      expect(await refused).toMatchObject({
        stage: 'tls',
        code: 'ERR_TLS',
        reason: 'TLS handshake failed: no shared cipher',
      });
      // Offered among others, the one cipher the server allows is the one chosen.
      const secure = next(server, isSecure);
      const chosen = await handshake(port, [
        '-tls1_2',
        '-cipher',
        'ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256',
      ]);
      expect(sessionLine(chosen.stdout)).toEqual({
        reused: false,
        protocol: 'TLSv1.2',
        cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256',
      });
      expect(await secure).toMatchObject({ cipher: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256' });
    });

    it('takes TLS 1.3 suites by their full names in the same `ciphers` string', async () => {
      const { server, port } = await wss({
        ciphers: 'TLS_CHACHA20_POLY1305_SHA256:ECDHE-ECDSA-AES128-GCM-SHA256',
      });
      const refused = next(server, isRefusal);
      const failed = await handshake(port, ['-tls1_3', '-ciphersuites', 'TLS_AES_256_GCM_SHA384']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/:sslv3 alert handshake failure:.*SSL alert number 40/);
      expect(await refused).toMatchObject({
        stage: 'tls',
        code: 'ERR_TLS',
        reason: 'TLS handshake failed: no shared cipher',
      });
      const secure = next(server, isSecure);
      const chosen = await handshake(port, ['-tls1_3']);
      expect(sessionLine(chosen.stdout)).toEqual({
        reused: false,
        protocol: 'TLSv1.3',
        cipher: 'TLS_CHACHA20_POLY1305_SHA256',
      });
      expect(await secure).toMatchObject({ cipher: 'TLS_CHACHA20_POLY1305_SHA256' });
    });

    it('refuses a client without a group of `groups`, and uses the one both have', async () => {
      const { server, port } = await wss({ groups: 'P-384' });
      const refused = next(server, isRefusal);
      const failed = await handshake(port, ['-tls1_3', '-groups', 'X25519']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/:sslv3 alert handshake failure:.*SSL alert number 40/);
      expect(await refused).toMatchObject({
        stage: 'tls',
        code: 'ERR_TLS',
        reason: 'TLS handshake failed: no suitable key share',
      });
      const tls13 = await handshake(port, ['-tls1_3', '-groups', 'P-384']);
      expect(tls13.code).toBe(0);
      expect(tls13.stdout).toMatch(/^Server Temp Key: ECDH, secp384r1, 384 bits$/m);
      // TLS 1.2 also needs the curve of the ECDSA certificate (P-256) among the client's groups
      // (RFC 8422 section 5.1): the key exchange itself still uses P-384.
      const tls12 = await handshake(port, ['-tls1_2', '-groups', 'X25519:P-256:P-384']);
      expect(tls12.code).toBe(0);
      expect(tls12.stdout).toMatch(/^Server Temp Key: ECDH, secp384r1, 384 bits$/m);
    });
  });

  describe('renegotiation', () => {
    it('refuses a TLS 1.2 renegotiation before the HTTP request; the server carries on', async () => {
      const { server, port } = await wss();
      const errors: unknown[] = [];
      server.errors$.subscribe((e) => errors.push(e));
      const logs: LogEntry[] = [];
      server.logs$.subscribe((e) => logs.push(e));
      const secure = next(server, isSecure);
      const dropped = next(server, isRefusal);
      const client = verifying(port, ['-tls1_2']);
      await client.waitFor(/Verify return code: 0 \(ok\)/);
      const { remotePort } = await secure;
      client.write('R\n');
      const done = await client.exited;
      // The server answers the ClientHello with a no_renegotiation alert; s_client gives up and
      // sends a fatal handshake_failure alert, which ends that connection on the server.
      expect(done.stderr).toMatch(
        /^RENEGOTIATING\n.*:SSL routines:ssl3_read_bytes:no renegotiation:/m,
      );
      expect(done.code).toBe(1);
      const refusal = await dropped;
      // Logged at the tls stage, with OpenSSL's reason: no HTTP answer could have been sent.
      expect(refusal).toMatchObject({
        stage: 'tls',
        code: 'ERR_TLS',
        reason: 'TLS failed: sslv3 alert handshake failure',
        remoteAddress: '127.0.0.1',
        remotePort,
      });
      expect(logs.filter((e) => e.type === 'error')).toEqual([]);
      expect(errors).toEqual([]);
      // The server still serves.
      const after = await handshake(port, ['-tls1_2']);
      expect(after.code).toBe(0);
    });

    it('refuses a TLS 1.2 renegotiation on an open WebSocket connection, which then closes', async () => {
      const { server, port } = await wss();
      const errors: unknown[] = [];
      server.errors$.subscribe((e) => errors.push(e));
      const closed = firstValueFrom(server.disconnections$);
      const client = verifying(port, ['-tls1_2']);
      client.write(UPGRADE);
      await client.waitFor(/HTTP\/1\.1 101 Switching Protocols\r\n[^]*?\r\n\r\n/);
      client.write(frame(Op.TEXT, 'before'));
      await client.waitFor(frame(Op.TEXT, 'before', { mask: false }).toString('latin1'));
      client.write('R\n');
      const done = await client.exited;
      expect(done.stderr).toMatch(
        /^RENEGOTIATING\n.*:SSL routines:ssl3_read_bytes:no renegotiation:/m,
      );
      expect(done.code).toBe(1);
      // For the server, the client broke the connection: closed without a close frame, and
      // no server error (the peer ended it, as with a reset).
      const info = await closed;
      expect(info).toMatchObject({ code: 1006, reason: '', wasClean: false });
      expect(info.error).toBeUndefined();
      expect(errors).toEqual([]);
    });

    it('has no renegotiation in TLS 1.3: key updates on an open connection keep it echoing', async () => {
      const { server, port } = await wss();
      const errors: unknown[] = [];
      server.errors$.subscribe((e) => errors.push(e));
      const client = verifying(port, ['-tls1_3']);
      client.write(UPGRADE);
      await client.waitFor(/HTTP\/1\.1 101 Switching Protocols\r\n[^]*?\r\n\r\n/);
      // k: s_client updates its keys; K: it also asks the server to update its own.
      for (const [n, command] of [
        [1, 'k'],
        [2, 'K'],
      ] as const) {
        client.write(`${command}\n`);
        await client.waitFor(new RegExp(`(^KEYUPDATE\n[^]*?){${n}}`, 'm'), 'stderr');
        const text = `after ${command}`;
        client.write(frame(Op.TEXT, text));
        await client.waitFor(frame(Op.TEXT, text, { mask: false }).toString('latin1'));
      }
      client.end();
      expect((await client.exited).code).toBe(0);
      expect(errors).toEqual([]);
    });
  });

  describe('server name indication', () => {
    it.each([
      ['other.test', 'CN = other.test'],
      ['a.other.test', 'CN = other.test'],
      ['localhost', 'CN = localhost'],
    ])('serves %s the certificate with subject %s', async (servername, subject) => {
      const { server, port } = await wss({
        sni: {
          'other.test': { cert: c.otherCert, key: c.otherKey },
          '*.other.test': { cert: c.otherCert, key: c.otherKey },
        },
      });
      const secure = next(server, isSecure);
      const done = await handshake(port, [], servername);
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(new RegExp(`^subject=${subject}$`, 'm'));
      expect(verifyResult(done.stdout)).toBe('0 (ok)');
      expect(await secure).toMatchObject({ servername });
    });

    it('serves the main certificate to a client that sends no name', async () => {
      const { server, port } = await wss({
        sni: { 'other.test': { cert: c.otherCert, key: c.otherKey } },
      });
      const secure = next(server, isSecure);
      const client = sClient(port, ['-CAfile', c.file('ca.crt'), '-noservername']);
      client.end();
      const done = await client.exited;
      expect(done.code).toBe(0);
      expect(done.stdout).toMatch(/^subject=CN = localhost$/m);
      expect(await secure).toMatchObject({ servername: undefined });
    });
  });

  describe('session resumption', () => {
    /**
     * Opens a WebSocket through s_client and saves its session to `file`. Waiting for the 101
     * makes TLS 1.3 deterministic: the server sends its tickets right after the handshake,
     * before any data, so s_client has stored one once it prints the 101.
     */
    async function saveSession(port: number, flag: string, file: string): Promise<string> {
      const client = verifying(port, [flag, '-sess_out', file]);
      client.write(UPGRADE);
      await client.waitFor(/HTTP\/1\.1 101 Switching Protocols\r\n/);
      client.end();
      const done = await client.exited;
      expect(sessionLine(done.stdout)).toMatchObject({ reused: false });
      return done.stdout;
    }

    async function resume(port: number, flag: string, file: string) {
      const done = await handshake(port, [flag, '-sess_in', file]);
      expect(done.code).toBe(0);
      return sessionLine(done.stdout);
    }

    it.each([
      ['-tls1_2', 'TLSv1.2', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
      ['-tls1_3', 'TLSv1.3', 'TLS_AES_256_GCM_SHA384'],
    ])('resumes a %s session from its ticket by default', async (flag, protocol, cipher) => {
      const { server, port } = await wss();
      const secures: Secure[] = [];
      server.logs$.pipe(filter(isSecure)).subscribe((e) => secures.push(e));
      const file = join(scratch, `default${flag}.pem`);
      const first = await saveSession(port, flag, file);
      if (protocol === 'TLSv1.3') {
        // OpenSSL's default: two TLS 1.3 tickets per full handshake (printed at exit).
        expect(first.match(/^Post-Handshake New Session Ticket arrived:$/gm)).toHaveLength(2);
      }
      const resumedSecure = next(server, isSecure);
      expect(await resume(port, flag, file)).toEqual({ reused: true, protocol, cipher });
      await resumedSecure;
      expect(secures.map((e) => [e.protocol, e.resumed])).toEqual([
        [protocol, false],
        [protocol, true],
      ]);
    });

    it.each(['-tls1_2', '-tls1_3'])(
      'does not resume a %s session with sessionResumption: false',
      async (flag) => {
        const { server, port } = await wss({ sessionResumption: false });
        const file = join(scratch, `off${flag}.pem`);
        await saveSession(port, flag, file);
        const secure = next(server, isSecure);
        expect(await resume(port, flag, file)).toMatchObject({ reused: false });
        expect(await secure).toMatchObject({ resumed: false });
      },
    );

    it.each(['-tls1_2', '-tls1_3'])(
      'resumes a %s session across two servers sharing ticketKeys, not on a third',
      async (flag) => {
        const ticketKeys = randomBytes(48);
        const a = await wss({ ticketKeys });
        const b = await wss({ ticketKeys });
        const other = await wss({ ticketKeys: randomBytes(48) });
        const file = join(scratch, `shared${flag}.pem`);
        await saveSession(a.port, flag, file);
        const onB = next(b.server, isSecure);
        expect(await resume(b.port, flag, file)).toMatchObject({ reused: true });
        expect(await onB).toMatchObject({ resumed: true });
        const onOther = next(other.server, isSecure);
        expect(await resume(other.port, flag, file)).toMatchObject({ reused: false });
        expect(await onOther).toMatchObject({ resumed: false });
      },
    );
  });

  describe('keylog', () => {
    it.each([
      ['-tls1_2', ['CLIENT_RANDOM']],
      [
        '-tls1_3',
        [
          'SERVER_HANDSHAKE_TRAFFIC_SECRET',
          'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
          'EXPORTER_SECRET',
          'SERVER_TRAFFIC_SECRET_0',
          'CLIENT_TRAFFIC_SECRET_0',
        ],
      ],
    ])('gives keylog the same %s secrets s_client logs', async (flag, labels) => {
      const lines: string[] = [];
      const addresses = new Set<string>();
      const { server, port } = await wss({
        keylog: (line, remoteAddress) => {
          lines.push(line.toString('latin1'));
          addresses.add(remoteAddress);
        },
      });
      const secure = next(server, isSecure);
      const file = join(scratch, `keylog${flag}.txt`);
      const done = await handshake(port, [flag, '-keylogfile', file]);
      expect(done.code).toBe(0);
      await secure;
      const theirs = readFileSync(file, 'latin1')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'));
      const ours = lines.map((l) => l.replace(/\n$/, ''));
      expect(ours.map((l) => l.split(' ')[0]).sort()).toEqual([...labels].sort());
      for (const l of ours) expect(l).toMatch(/^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]{64,96}$/);
      expect([...ours].sort()).toEqual([...theirs].sort());
      expect([...addresses]).toEqual(['127.0.0.1']);
    });
  });

  describe('client certificates', () => {
    it('gives onClientCertificate the certificate s_client sends, verdict OK, then opens', async () => {
      const infos: ClientCertificateInfo[] = [];
      const { server, port } = await wss(
        { requestClientCert: true, ca: c.caCert },
        {
          onClientCertificate: (info) => {
            infos.push(info);
            return info.accept;
          },
        },
      );
      const opened = firstValueFrom(server.connections$);
      const client = verifying(port, [
        '-tls1_3',
        '-cert',
        c.file('client.crt'),
        '-key',
        c.file('client.key'),
      ]);
      client.write(UPGRADE);
      await client.waitFor(/HTTP\/1\.1 101 Switching Protocols\r\n/);
      // The server asked for a certificate from the test CA.
      expect(client.stdout()).toMatch(
        /^Acceptable client certificate CA names\nCN = rxws test ca$/m,
      );
      const alice = new X509Certificate(c.clientCert);
      expect(infos).toEqual([aliceAccepted(c)]);
      const conn = await opened;
      expect(conn.tls).toMatchObject({
        protocol: 'TLSv1.3',
        verdict: 'OK',
        peerCertificate: { subject: 'CN=alice', fingerprint256: alice.fingerprint256 },
      });
      client.end();
      await client.exited;
    });
  });

  describe('a WebSocket over an independent TLS stack', () => {
    it.each([
      ['-tls1_2', 'TLSv1.2'],
      ['-tls1_3', 'TLSv1.3'],
    ])(
      'upgrades over %s, echoes a frame and closes cleanly, all through s_client',
      async (flag, protocol) => {
        const { server, port } = await wss();
        const opened = firstValueFrom(server.connections$);
        const closed = firstValueFrom(server.disconnections$);
        // -quiet: stdout holds only what the server sent (and implies -ign_eof);
        // -nocommands: no byte of a frame is taken for an s_client command.
        const client = verifying(port, [flag, '-quiet', '-nocommands']);
        client.write(UPGRADE);
        await client.waitFor(/\r\n\r\n/);
        const conn = await opened;
        expect(conn.tls?.protocol).toBe(protocol);
        client.write(frame(Op.TEXT, 'over openssl'));
        await client.waitFor(frame(Op.TEXT, 'over openssl', { mask: false }).toString('latin1'));
        client.write(frame(Op.CLOSE, closePayload(1000, 'done')));
        // The server answers the close and ends the TLS connection: s_client exits by itself.
        const done = await client.exited;
        expect(done.code).toBe(0);
        const raw = Buffer.from(done.stdout, 'latin1');
        const headEnd = raw.indexOf('\r\n\r\n') + 4;
        const response = parseResponse(raw.subarray(0, headEnd).toString('latin1'));
        expect(response.status).toBe(101);
        expect(response.headers).toMatchObject({
          upgrade: 'websocket',
          connection: 'Upgrade',
          'sec-websocket-accept': ACCEPT,
        });
        const { frames, rest } = parseFrames(raw.subarray(headEnd));
        expect(frames.map((f) => [f.opcode, f.payload.toString('latin1')])).toEqual([
          [Op.TEXT, 'over openssl'],
          [Op.CLOSE, closePayload(1000, 'done').toString('latin1')],
        ]);
        expect(rest.length).toBe(0);
        expect(await closed).toMatchObject({ code: 1000, reason: 'done', wasClean: true });
      },
    );
  });
});
