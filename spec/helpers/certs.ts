import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test certificates, made by `openssl` when a spec first asks for them (no key material is kept
 * in the repository): a CA, server certificates for two names, client certificates (good,
 * expired, revoked, and one from a CA nobody trusts), the CA's revocation list, and the server
 * certificate as a PKCS#12 bundle.
 */
export interface TestCerts {
  readonly dir: string;
  /** PEM text of each, and its file. */
  readonly caCert: string;
  readonly serverKey: string;
  /** `localhost`, `127.0.0.1`, `::1`. */
  readonly serverCert: string;
  /** `other.test` (for SNI). */
  readonly otherKey: string;
  readonly otherCert: string;
  readonly clientKey: string;
  readonly clientCert: string;
  readonly expiredKey: string;
  readonly expiredCert: string;
  readonly revokedKey: string;
  readonly revokedCert: string;
  readonly untrustedKey: string;
  readonly untrustedCert: string;
  readonly untrustedCaCert: string;
  /** The CA's CRL, listing `revokedCert`. */
  readonly crl: string;
  /** `serverKey` + `serverCert` + `caCert` as PKCS#12, password `pfx-pass`. */
  readonly pfx: Buffer;
  readonly file: (name: string) => string;
  readonly remove: () => void;
}

let made: TestCerts | undefined;

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function caConfig(dir: string, name: string): string {
  const file = join(dir, `${name}.cnf`);
  writeFileSync(join(dir, `${name}-index.txt`), '');
  writeFileSync(join(dir, `${name}-crlnumber`), '01\n');
  writeFileSync(
    file,
    [
      '[ca]',
      `default_ca = ${name}`,
      `[${name}]`,
      `database = ${name}-index.txt`,
      `new_certs_dir = .`,
      `certificate = ${name}.crt`,
      `private_key = ${name}.key`,
      `serial = ${name}-serial`,
      `crlnumber = ${name}-crlnumber`,
      'default_md = sha256',
      'default_crl_days = 3650',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = copy',
      '[any]',
      'commonName = supplied',
      '[server]',
      'basicConstraints = CA:FALSE',
      'keyUsage = digitalSignature, keyEncipherment',
      'extendedKeyUsage = serverAuth',
      '[client]',
      'basicConstraints = CA:FALSE',
      'keyUsage = digitalSignature, keyEncipherment',
      'extendedKeyUsage = clientAuth',
      '',
    ].join('\n'),
  );
  return file;
}

function makeCa(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '3650',
    '-subj',
    `/CN=rxws test ${name}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  writeFileSync(join(dir, `${name}-serial`), '1000\n');
  caConfig(dir, name);
}

/** A key and a certificate signed by CA `ca`, valid from `start` to `end` (YYMMDDHHMMSSZ). */
function issue(
  dir: string,
  ca: string,
  name: string,
  cn: string,
  ext: 'server' | 'client',
  san?: string,
  start = '200101000000Z',
  end = '491231000000Z',
): void {
  const req = [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ];
  if (san) req.push('-addext', `subjectAltName=${san}`);
  openssl(dir, req);
  openssl(dir, [
    'ca',
    '-batch',
    '-config',
    `${ca}.cnf`,
    '-extensions',
    ext,
    '-startdate',
    start,
    '-enddate',
    end,
    '-notext',
    '-in',
    `${name}.csr`,
    '-out',
    `${name}.crt`,
  ]);
}

/** Makes the test certificates once per process (a few hundred milliseconds of `openssl`). */
export function testCerts(): TestCerts {
  if (made) return made;
  const dir = mkdtempSync(join(tmpdir(), 'rxws-certs-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'rogue');
  issue(dir, 'ca', 'server', 'localhost', 'server', 'DNS:localhost,IP:127.0.0.1,IP:::1');
  issue(dir, 'ca', 'other', 'other.test', 'server', 'DNS:other.test,DNS:*.other.test');
  issue(dir, 'ca', 'client', 'alice', 'client');
  issue(dir, 'ca', 'expired', 'bob', 'client', undefined, '200101000000Z', '210101000000Z');
  issue(dir, 'ca', 'revoked', 'carol', 'client');
  issue(dir, 'rogue', 'untrusted', 'mallory', 'client');
  openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-revoke', 'revoked.crt']);
  openssl(dir, ['ca', '-batch', '-config', 'ca.cnf', '-gencrl', '-out', 'ca.crl']);
  openssl(dir, [
    'pkcs12',
    '-export',
    '-inkey',
    'server.key',
    '-in',
    'server.crt',
    '-certfile',
    'ca.crt',
    '-passout',
    'pass:pfx-pass',
    '-out',
    'server.p12',
  ]);
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  made = {
    dir,
    caCert: read('ca.crt'),
    serverKey: read('server.key'),
    serverCert: read('server.crt'),
    otherKey: read('other.key'),
    otherCert: read('other.crt'),
    clientKey: read('client.key'),
    clientCert: read('client.crt'),
    expiredKey: read('expired.key'),
    expiredCert: read('expired.crt'),
    revokedKey: read('revoked.key'),
    revokedCert: read('revoked.crt'),
    untrustedKey: read('untrusted.key'),
    untrustedCert: read('untrusted.crt'),
    untrustedCaCert: read('rogue.crt'),
    crl: read('ca.crl'),
    pfx: readFileSync(join(dir, 'server.p12')),
    file: (name: string) => join(dir, name),
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      made = undefined;
    },
  };
  return made;
}

/**
 * What `onClientCertificate` is told, exactly, when the test client `alice` (`clientCert`) connects
 * from 127.0.0.1 asking for `localhost`: read from the certificate file itself.
 */
export function aliceAccepted(c: TestCerts): object {
  const alice = new X509Certificate(c.clientCert);
  return {
    remoteAddress: '127.0.0.1',
    remotePort: expect.any(Number),
    servername: 'localhost',
    certificate: {
      pem: alice.toString(),
      subject: 'CN=alice',
      issuer: 'CN=rxws test ca',
      serialNumber: alice.serialNumber,
      fingerprint256: alice.fingerprint256,
      validFrom: alice.validFrom,
      validTo: alice.validTo,
    },
    verdict: 'OK',
    accept: true,
  };
}
