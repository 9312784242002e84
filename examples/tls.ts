/**
 * A wss:// echo server that asks every client for a certificate signed by your CA: the TLS
 * handshake is a stage of the accept path, `onClientCertificate` sees each certificate and the
 * chain's verdict, and each connection carries what was negotiated (`conn.tls`).
 *
 * Test certificates, made with OpenSSL 3 (a CA, a server certificate for localhost, a client
 * certificate, all valid for 30 days):
 *
 *   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
 *     -subj /CN=example-ca -keyout ca.key -out ca.crt
 *   openssl req -x509 -CA ca.crt -CAkey ca.key -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
 *     -nodes -days 30 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
 *     -addext basicConstraints=CA:FALSE -keyout server.key -out server.crt
 *   openssl req -x509 -CA ca.crt -CAkey ca.key -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
 *     -nodes -days 30 -subj /CN=alice -addext basicConstraints=CA:FALSE \
 *     -keyout client.key -out client.crt
 *
 * Then:
 *
 *   TLS_CERT=server.crt TLS_KEY=server.key TLS_CA=ca.crt npx tsx examples/tls.ts
 *   # wss://127.0.0.1:8443 (PORT and HOST change it)
 *
 * and a client with its certificate (from this repository, which has `ws`):
 *
 *   node -e "const fs = require('fs'); const WebSocket = require('ws');
 *     const ws = new WebSocket('wss://localhost:8443', { ca: fs.readFileSync('ca.crt'),
 *       cert: fs.readFileSync('client.crt'), key: fs.readFileSync('client.key') });
 *     ws.on('open', () => ws.send('hello'));
 *     ws.on('message', (m) => { console.log(String(m)); ws.close(); });"
 *
 * A client without a certificate, or with one your CA did not sign, is refused during the TLS
 * handshake and never reaches the HTTP upgrade. `kill -HUP <pid>` reads the three files again
 * (certificate rotation: new handshakes get the new ones, open connections keep theirs).
 * Ctrl-C shuts it down gracefully: every client receives a 1001 close frame.
 */
import { createServer, type RxwsServer, type TlsOptions } from '../src';

const { TLS_CERT, TLS_KEY, TLS_CA } = process.env;
const port = Number(process.env.PORT ?? 8443);
const host = process.env.HOST ?? '127.0.0.1';

/** The `CN=...` line of a subject as Node prints it (one `key=value` per line). */
const commonName = (subject: string | undefined): string =>
  subject?.split('\n').find((part) => part.startsWith('CN=')) ?? 'no certificate';

function start(cert: string, key: string, ca: string): RxwsServer | undefined {
  // Paths: rxws reads the files at createServer() (and again at setTls()).
  const tls: TlsOptions = { cert, key, ca, requestClientCert: true };
  let server: RxwsServer;
  try {
    server = createServer({
      host,
      port,
      tls,
      logLevel: 2,
      // IPWorks' SSLClientAuthentication: the verdict is 'OK' or Node's reason ('CERT_HAS_EXPIRED',
      // 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'NO_CERTIFICATE', ...); the answer has the last word.
      onClientCertificate: (info) => {
        console.log(
          `client certificate from ${info.remoteAddress}: ${commonName(info.certificate?.subject)}, verdict ${info.verdict}`,
        );
        return info.accept;
      },
    });
  } catch (error) {
    // A missing file, a key that does not match its certificate, ...
    console.error((error as Error).message);
    process.exitCode = 1;
    return undefined;
  }

  server.logs$.subscribe((entry) => {
    if (entry.type === 'tls' || entry.type === 'refused' || entry.type === 'error') {
      console.log(`[${entry.type}] ${entry.message}`);
    }
  });
  server.errors$.subscribe((error) => console.error(`[${error.code}] ${error.message}`));

  server.connections$.subscribe((conn) => {
    const facts = conn.tls;
    console.log(
      `connection ${conn.id}: ${commonName(facts?.peerCertificate?.subject)} over ${facts?.protocol} ${facts?.cipher.standardName}`,
    );
    conn.messages$.subscribe((msg) => conn.sink.next(msg.data));
  });

  server.listen().then(
    ({ address, family, port: actual }) => {
      const shown = family === 'IPv6' ? `[${address}]` : address;
      console.log(`wss echo server listening on wss://${shown}:${actual}`);
    },
    (error: Error) => {
      console.error(error.message); // the port is taken, for example
      process.exitCode = 1;
    },
  );

  process.on('SIGHUP', () => {
    try {
      server.setTls(tls);
      console.log('certificates read again: new connections get them');
    } catch (error) {
      console.error(`kept the previous certificates: ${(error as Error).message}`);
    }
  });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    console.log('shutting down...');
    server.shutdown().then(() => console.log('bye'));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return server;
}

if (!TLS_CERT || !TLS_KEY || !TLS_CA) {
  console.error(
    'set TLS_CERT, TLS_KEY and TLS_CA to the server certificate, its key and the CA of the clients (see the top of examples/tls.ts)',
  );
  process.exitCode = 1;
} else {
  start(TLS_CERT, TLS_KEY, TLS_CA);
}
