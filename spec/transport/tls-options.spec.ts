import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidOptionError } from '../../src';
import { contextFor, pemBlocks, resolveTls } from '../../src/transport/tls-options';
import { testCerts, type TestCerts } from '../helpers/certs';

describe('resolveTls()', () => {
  let c: TestCerts;
  beforeAll(() => {
    c = testCerts();
  });
  afterAll(() => c.remove());

  const error = (value: unknown): unknown => {
    try {
      resolveTls(value);
    } catch (err) {
      return {
        name: (err as Error).name,
        option: (err as InvalidOptionError).option,
        message: (err as Error).message,
      };
    }
    return 'no error';
  };

  it('takes PEM text, Buffers and file paths alike', () => {
    const asText = resolveTls({ cert: c.serverCert, key: c.serverKey });
    const asBuffer = resolveTls({ cert: Buffer.from(c.serverCert), key: Buffer.from(c.serverKey) });
    const asFile = resolveTls({ cert: c.file('server.crt'), key: c.file('server.key') });
    for (const r of [asText, asBuffer, asFile]) {
      expect(pemBlocks(r.contextOptions.cert as string)).toEqual(pemBlocks(c.serverCert));
      expect(r.contextOptions.minVersion).toBe('TLSv1.2');
      expect(r.requestClientCert).toBe(false);
    }
  });

  it('takes a PKCS#12 bundle with its password, and names a wrong password', () => {
    expect(resolveTls({ pfx: c.pfx, passphrase: 'pfx-pass' }).contextOptions.pfx).toEqual(c.pfx);
    expect(
      resolveTls({ pfx: c.file('server.p12'), passphrase: 'pfx-pass' }).contextOptions.pfx,
    ).toEqual(c.pfx);
    expect(error({ pfx: c.pfx, passphrase: 'wrong' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls',
      message: expect.stringMatching(/^"tls": Node could not use it: .*mac verify failure/),
    });
  });

  it('refuses a certificate without its key, and a key that does not match', () => {
    expect(error({ cert: c.serverCert })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls',
      message: '"tls" needs a certificate: `cert` and `key`, or `pfx`',
    });
    expect(error({ cert: c.serverCert, key: c.clientKey })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls',
      message: expect.stringMatching(/^"tls": Node could not use it: .*key values mismatch/),
    });
    expect(error({ cert: '/no/such/file.pem', key: c.serverKey })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.cert',
      message: expect.stringMatching(
        /^"tls.cert" must be PEM text, a Buffer or a readable file, got "\/no\/such\/file.pem" \(ENOENT/,
      ),
    });
  });

  it('says what to use instead of certificate stores, and lists the known fields for a typo', () => {
    expect(error({ certStoreType: 'JKS' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.certStoreType',
      message:
        '"tls.certStoreType" is not supported: Node reads PEM (`cert`, `key`) and PKCS#12 (`pfx`) only: convert Windows stores, JKS or PKCS#11 keys to one of them',
    });
    expect(error({ cert: c.serverCert, key: c.serverKey, cyphers: 'x' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.cyphers',
      message: expect.stringMatching(/^"tls.cyphers" is not a TLS option; known: cert, key, pfx/),
    });
  });

  it('picks the certificate whose subject matches certSubject, and names the subjects when none does', () => {
    const both = {
      cert: [c.serverCert, c.otherCert],
      key: [c.serverKey, c.otherKey],
    };
    expect(resolveTls(both).contextOptions.cert).toBe(pemBlocks(c.serverCert)[0]);
    expect(resolveTls({ ...both, certSubject: 'CN=other.test' }).contextOptions.cert).toBe(
      pemBlocks(c.otherCert)[0],
    );
    expect(error({ ...both, certSubject: 'CN=nobody' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.certSubject',
      message:
        '"tls.certSubject" "CN=nobody" matches none of the certificates ("CN=localhost"; "CN=other.test")',
    });
  });

  it('takes one PEM file holding the certificate and its key as both, and no certSubject with pfx', () => {
    const both = `${c.serverCert}${c.serverKey}`;
    const r = resolveTls({ cert: both, key: both });
    expect(r.contextOptions.cert).toBe(pemBlocks(c.serverCert)[0]);
    expect(r.contextOptions.key).toBe(pemBlocks(c.serverKey)[0]);
    expect(error({ pfx: c.pfx, passphrase: 'pfx-pass', certSubject: 'CN=localhost' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.certSubject',
      message:
        '"tls.certSubject" picks among PEM certificates (`cert`, `key`): Node serves a PFX bundle\'s own certificate',
    });
  });

  it('sends the chain given after the certificate unless includeChain is false', () => {
    const withChain = `${c.serverCert}${c.caCert}`;
    expect(
      pemBlocks(resolveTls({ cert: withChain, key: c.serverKey }).contextOptions.cert as string),
    ).toHaveLength(2);
    expect(
      pemBlocks(
        resolveTls({ cert: withChain, key: c.serverKey, includeChain: false }).contextOptions
          .cert as string,
      ),
    ).toEqual(pemBlocks(c.serverCert));
  });

  it('reads CA certificates from text, a file or a directory', () => {
    const dir = join(c.dir, 'cadir');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.pem'), c.caCert);
    writeFileSync(join(dir, 'b.crt'), c.untrustedCaCert);
    writeFileSync(join(dir, 'notes.txt'), 'not a certificate');
    const base = { cert: c.serverCert, key: c.serverKey };
    expect(resolveTls({ ...base, ca: c.caCert }).contextOptions.ca).toEqual([c.caCert]);
    expect(resolveTls({ ...base, ca: c.file('ca.crt') }).contextOptions.ca).toEqual([c.caCert]);
    expect(resolveTls({ ...base, ca: dir }).contextOptions.ca).toEqual([
      c.caCert,
      c.untrustedCaCert,
    ]);
  });

  it('checks versions, ticket keys and the session timeout', () => {
    const base = { cert: c.serverCert, key: c.serverKey };
    expect(error({ ...base, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.2' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.minVersion',
      message: '"tls.minVersion" "TLSv1.3" is above "tls.maxVersion" "TLSv1.2"',
    });
    expect(error({ ...base, minVersion: 'SSLv3' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.minVersion',
      message: '"tls.minVersion" must be one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3, got "SSLv3"',
    });
    expect(error({ ...base, ticketKeys: Buffer.alloc(16) })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls.ticketKeys',
      message: '"tls.ticketKeys" must be a Buffer of 48 bytes, got 16 bytes',
    });
    expect(error({ ...base, ciphers: 'NO-SUCH-CIPHER' })).toEqual({
      name: 'InvalidOptionError',
      option: 'tls',
      message: expect.stringMatching(/^"tls": Node could not use it: .*no cipher match/),
    });
  });

  it('chooses SNI certificates by exact name, then by one-label wildcard', () => {
    const r = resolveTls({
      cert: c.serverCert,
      key: c.serverKey,
      sni: {
        'Other.Test': { cert: c.otherCert, key: c.otherKey },
        '*.other.test': { cert: c.otherCert, key: c.otherKey },
      },
    });
    expect(contextFor(r, 'other.test')).toBe(r.exact.get('other.test'));
    expect(contextFor(r, 'a.other.test')).toBe(r.wildcard[0][1]);
    expect(contextFor(r, 'a.b.other.test')).toBeUndefined();
    expect(contextFor(r, 'localhost')).toBeUndefined();
  });
});
