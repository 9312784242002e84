/**
 * Certificates for the wss scenario, made by `openssl` at bench time into a temporary folder
 * (no key material in the repository): a CA and a server certificate for 127.0.0.1/localhost
 * signed by it, both ECDSA P-256 like the specs' (spec/helpers/certs.ts). The server sends its
 * certificate alone; the load client trusts the CA and verifies the chain and the name.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchTls } from './protocol';

/**
 * What both wss servers and the client are pinned to: TLS 1.3 only, one cipher suite, one
 * key-exchange group, so that rxws and ws do exactly the same cryptography.
 */
export const WSS_SETTINGS = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256',
  groups: 'X25519',
} as const;

function openssl(dir: string, args: string[]): Promise<void> {
  // A failure's message names the command and carries what openssl wrote to stderr.
  return new Promise((resolve, reject) =>
    execFile('openssl', args, { cwd: dir }, (err) => (err ? reject(err) : resolve())),
  );
}

const p256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/**
 * Makes the CA and the server certificate (about 0.2 s of `openssl`, while the runs that do not
 * need them start); `remove()` deletes them.
 */
export async function makeBenchCerts(): Promise<BenchTls & { dir: string; remove: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'rxws-bench-certs-'));
  try {
    await openssl(dir, [
      'req',
      '-x509',
      ...p256,
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '30',
      '-subj',
      '/CN=rxws bench CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign',
    ]);
    await openssl(dir, [
      'req',
      ...p256,
      '-keyout',
      'server.key',
      '-out',
      'server.csr',
      '-subj',
      '/CN=localhost',
    ]);
    writeFileSync(
      join(dir, 'server.ext'),
      [
        'basicConstraints = CA:FALSE',
        'keyUsage = digitalSignature',
        'extendedKeyUsage = serverAuth',
        'subjectAltName = DNS:localhost, IP:127.0.0.1',
        '',
      ].join('\n'),
    );
    await openssl(dir, [
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '30',
      '-sha256',
      '-extfile',
      'server.ext',
      '-out',
      'server.crt',
    ]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`wss: openssl could not make the certificates: ${(err as Error).message}`);
  }
  return {
    dir,
    certFile: join(dir, 'server.crt'),
    keyFile: join(dir, 'server.key'),
    caFile: join(dir, 'ca.crt'),
    ...WSS_SETTINGS,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
