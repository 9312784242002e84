import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { constants as cryptoConstants, X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { InvalidOptionError, invalidOption, show } from '../errors';

/** PEM text (a string that starts with `-----BEGIN`), PEM bytes, or the path of a PEM file. */
export type PemSource = string | Buffer;

/** A certificate to serve: PEM certificate (with its chain after it) and key, or PKCS#12. */
export interface TlsCertificate {
  /** The certificate, then the chain certificates to send with it (SSLCertEncoded). */
  cert?: PemSource | readonly PemSource[];
  /** Its private key (PEM). */
  key?: PemSource | readonly PemSource[];
  /** A PKCS#12/PFX bundle: its bytes, or the path of its file (SSLCertStoreType PFXFile/PFXBlob). */
  pfx?: string | Buffer;
  /** Password of an encrypted key or PFX bundle (SSLCertStorePassword). */
  passphrase?: string;
}

/** TLS versions Node's OpenSSL speaks. */
export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/**
 * The `tls` option: serve `wss://` (IPWorks' UseSSL and its SSL settings). Paths or contents
 * everywhere a certificate, key, CA or CRL is asked for. Every field is optional except a
 * certificate (`cert` and `key`, or `pfx`).
 */
export interface TlsOptions extends TlsCertificate {
  /**
   * Picks, from several certificates given in `cert`/`key`, the one whose subject contains this
   * text (`'CN=example.com'`), or `'*'` the first (SSLCertSubject). Not with `pfx`: Node serves
   * a PKCS#12 bundle's own certificate and cannot pick within it. Default: the first.
   */
  certSubject?: string;
  /** Sends the chain certificates given after the certificate (SSLIncludeCertChain). Default true. */
  includeChain?: boolean;
  /**
   * Certificates for other host names, chosen by the name the client asks for (SNI): exact
   * names (`'api.example.com'`) or one-label wildcards (`'*.example.com'`). A name none of them
   * matches gets the main certificate.
   */
  sni?: Readonly<Record<string, TlsCertificate>>;
  /**
   * Asks clients for a certificate and checks it against `ca` (SSLAuthenticateClients); the
   * `onClientCertificate` hook has the last word. Default false.
   */
  requestClientCert?: boolean;
  /**
   * CAs trusted for client certificates: PEM text, a file, or a directory of `.pem`/`.crt` files
   * (SSLCACerts, OpenSSLCAFile, OpenSSLCADir). Default: Node's bundled root CAs.
   */
  ca?: PemSource | readonly PemSource[];
  /**
   * Revocation lists (PEM text or files) checked for client certificates (SSLCheckCRL). Node
   * neither fetches CRLs nor checks OCSP by itself: give the lists, and replace them with
   * `server.setTls()` as they are renewed. Default none.
   */
  crl?: PemSource | readonly PemSource[];
  /** Lowest version accepted (SSLEnabledProtocols). Default `'TLSv1.2'`. */
  minVersion?: TlsVersion;
  /** Highest version accepted. Default `'TLSv1.3'`. */
  maxVersion?: TlsVersion;
  /**
   * Cipher suites, OpenSSL's list format; TLS 1.3 suites by their full names in the same string
   * (SSLEnabledCipherSuites, OpenSSLCipherList). Default: Node's `tls.DEFAULT_CIPHERS`.
   */
  ciphers?: string;
  /** Signature algorithms, `:`-separated (TLS12/TLS13SignatureAlgorithms). Default: OpenSSL's. */
  sigalgs?: string;
  /** Key-exchange groups, `:`-separated (TLS12/TLS13SupportedGroups). Default `'auto'`. */
  groups?: string;
  /** Resumes sessions with tickets (ReuseSSLSession). Default true. */
  sessionResumption?: boolean;
  /** 48 bytes of ticket keys, the same on every server of a cluster so tickets work across them. Default: random per server. */
  ticketKeys?: Buffer;
  /** Seconds a session ticket stays valid. Default 300. */
  sessionTimeout?: number;
  /**
   * Called with each line of TLS key material in NSS key-log format, for decrypting captures
   * while debugging (LogSSLPackets; Wireshark's SSLKEYLOGFILE). Default none.
   */
  keylog?: (line: Buffer, remoteAddress: string) => void;
}

/** The `tls` option checked, and its contexts made (a wrong key or file fails at `createServer()`). */
export interface ResolvedTls {
  readonly options: Readonly<TlsOptions>;
  /** What Node's `tls` is given for the main certificate (read files, picked certificate). */
  readonly contextOptions: Readonly<SecureContextOptions>;
  /** The context of the main certificate. */
  readonly context: SecureContext;
  /** Contexts by exact host name (lower case), then wildcard suffixes (`.example.com`). */
  readonly exact: ReadonlyMap<string, SecureContext>;
  readonly wildcard: readonly (readonly [string, SecureContext])[];
  readonly requestClientCert: boolean;
  readonly keylog: ((line: Buffer, remoteAddress: string) => void) | undefined;
}

const KNOWN = new Set<string>([
  'cert',
  'key',
  'pfx',
  'passphrase',
  'certSubject',
  'includeChain',
  'sni',
  'requestClientCert',
  'ca',
  'crl',
  'minVersion',
  'maxVersion',
  'ciphers',
  'sigalgs',
  'groups',
  'sessionResumption',
  'ticketKeys',
  'sessionTimeout',
  'keylog',
]);

/** Names users coming from other servers try, and what Node offers instead. */
const NOT_IN_NODE: Readonly<Record<string, string>> = {
  certStore:
    'Node has no certificate stores (Windows stores, JKS, PKCS#11): export the certificate to PEM (`cert`, `key`) or PKCS#12 (`pfx`)',
  certStoreType:
    'Node reads PEM (`cert`, `key`) and PKCS#12 (`pfx`) only: convert Windows stores, JKS or PKCS#11 keys to one of them',
  provider:
    'Node always uses the OpenSSL it was built with (SSLProvider): there is no other provider to choose',
  ocsp: 'Node does not check OCSP by itself: use `crl` with lists you renew through `server.setTls()`',
};

const VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

function isPem(text: string): boolean {
  return text.trimStart().startsWith('-----BEGIN');
}

/** Reads a PEM source: text as is, a Buffer as is, a path from its file (or directory). */
function pemList(name: string, value: unknown, directories: boolean): (string | Buffer)[] {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) invalidOption(name, 'PEM text, a Buffer or a file path', value);
  const out: (string | Buffer)[] = [];
  for (const item of items) {
    if (Buffer.isBuffer(item)) out.push(item);
    else if (typeof item === 'string' && isPem(item)) out.push(item);
    else if (typeof item === 'string' && item.length > 0) {
      let isDir = false;
      try {
        isDir = statSync(item).isDirectory();
      } catch (err) {
        throw new InvalidOptionError(
          name,
          `"${name}" must be PEM text, a Buffer or a readable file, got ${show(item)} (${(err as Error).message})`,
        );
      }
      if (isDir && directories) {
        const files = readdirSync(item)
          .filter((f) => /\.(pem|crt|cer)$/i.test(f))
          .sort();
        for (const f of files) out.push(readFileSync(join(item, f), 'utf8'));
        if (files.length === 0) {
          throw new InvalidOptionError(
            name,
            `"${name}" directory ${show(item)} holds no .pem, .crt or .cer file`,
          );
        }
      } else if (isDir) {
        invalidOption(name, 'PEM text, a Buffer or a file (not a directory)', item);
      } else {
        out.push(readFileSync(item, 'utf8'));
      }
    } else invalidOption(name, 'PEM text, a Buffer or a file path', item);
  }
  return out;
}

const isCertificate = (block: string): boolean => block.startsWith('-----BEGIN CERTIFICATE-----');

/** Splits PEM text into its blocks (certificates, keys) in order. */
export function pemBlocks(pem: string | Buffer): string[] {
  const text = typeof pem === 'string' ? pem : pem.toString('utf8');
  return text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
}

function fileOrBuffer(name: string, value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string' && value.length > 0) {
    try {
      return readFileSync(value);
    } catch (err) {
      throw new InvalidOptionError(
        name,
        `"${name}" must be a Buffer or a readable file, got ${show(value)} (${(err as Error).message})`,
      );
    }
  }
  return invalidOption(name, 'a Buffer or a file path', value);
}

/** The certificate part of a context: cert/key (one picked by subject), or pfx. */
function certificateOptions(
  name: string,
  value: TlsCertificate,
  subject: string | undefined,
  includeChain: boolean,
): SecureContextOptions {
  const out: SecureContextOptions = {};
  if (value.passphrase !== undefined) {
    if (typeof value.passphrase !== 'string') {
      invalidOption(`${name}.passphrase`, 'a string', value.passphrase);
    }
    out.passphrase = value.passphrase;
  }
  if (value.pfx !== undefined) {
    if (value.cert !== undefined || value.key !== undefined) {
      throw new InvalidOptionError(
        name,
        `"${name}" takes \`pfx\` or \`cert\` and \`key\`, not both`,
      );
    }
    if (subject !== undefined && subject !== '*') {
      throw new InvalidOptionError(
        `${name}.certSubject`,
        `"${name}.certSubject" picks among PEM certificates (\`cert\`, \`key\`): Node serves a PFX bundle's own certificate`,
      );
    }
    out.pfx = fileOrBuffer(`${name}.pfx`, value.pfx);
    return out;
  }
  if (value.cert === undefined || value.key === undefined) {
    throw new InvalidOptionError(
      name,
      `"${name}" needs a certificate: \`cert\` and \`key\`, or \`pfx\``,
    );
  }
  // Each source is one certificate followed by its chain; several sources: several certificates.
  // Blocks are told apart by type, so one file holding a certificate and its key serves as both.
  const certs = pemList(`${name}.cert`, value.cert, false).map((pem) =>
    pemBlocks(pem).filter(isCertificate),
  );
  const keys = pemList(`${name}.key`, value.key, false).flatMap((pem) =>
    pemBlocks(pem).filter((block) => !isCertificate(block)),
  );
  if (certs.some((c) => c.length === 0)) {
    throw new InvalidOptionError(`${name}.cert`, `"${name}.cert" holds no PEM certificate`);
  }
  if (keys.length !== certs.length) {
    throw new InvalidOptionError(
      `${name}.key`,
      `"${name}.key" must give one key per certificate: ${certs.length} certificate(s), ${keys.length} key(s)`,
    );
  }
  let index = 0;
  if (subject !== undefined && subject !== '*') {
    index = certs.findIndex((chain) => new X509Certificate(chain[0]).subject.includes(subject));
    if (index < 0) {
      const subjects = certs.map((chain) =>
        new X509Certificate(chain[0]).subject.replace(/\n/g, ', '),
      );
      throw new InvalidOptionError(
        `${name}.certSubject`,
        `"${name}.certSubject" ${show(subject)} matches none of the certificates (${subjects.map((s) => show(s)).join('; ')})`,
      );
    }
  }
  const chain = certs[index];
  out.cert = (includeChain ? chain : chain.slice(0, 1)).join('\n');
  out.key = keys[index];
  return out;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length === 0)
    invalidOption(name, 'a non-empty string', value);
  return value;
}

function optionalBoolean(name: string, value: unknown, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  if (typeof value !== 'boolean') invalidOption(name, 'a boolean', value);
  return value;
}

/** Makes a secure context, turning OpenSSL's complaint into an option error. */
function context(name: string, options: SecureContextOptions): SecureContext {
  try {
    return createSecureContext(options);
  } catch (err) {
    const reason = (err as Error).message;
    throw new InvalidOptionError(name, `"${name}": Node could not use it: ${reason}`);
  }
}

/**
 * Checks the `tls` option and makes its secure contexts.
 * @throws {InvalidOptionError} one sentence naming the field, the value and what is expected.
 */
export function resolveTls(value: unknown, name = 'tls'): ResolvedTls {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalidOption(name, 'an object ({ cert, key } or { pfx }, ...)', value);
  }
  const given = value as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (key in NOT_IN_NODE) {
      throw new InvalidOptionError(
        `${name}.${key}`,
        `"${name}.${key}" is not supported: ${NOT_IN_NODE[key]}`,
      );
    }
    if (!KNOWN.has(key)) {
      throw new InvalidOptionError(
        `${name}.${key}`,
        `"${name}.${key}" is not a TLS option; known: ${[...KNOWN].join(', ')}`,
      );
    }
  }
  const opts = given as TlsOptions;
  const includeChain = optionalBoolean(`${name}.includeChain`, opts.includeChain, true);
  const subject = optionalString(`${name}.certSubject`, opts.certSubject);
  const requestClientCert = optionalBoolean(
    `${name}.requestClientCert`,
    opts.requestClientCert,
    false,
  );
  const sessionResumption = optionalBoolean(
    `${name}.sessionResumption`,
    opts.sessionResumption,
    true,
  );
  for (const v of ['minVersion', 'maxVersion'] as const) {
    if (opts[v] !== undefined && !VERSIONS.includes(opts[v])) {
      invalidOption(`${name}.${v}`, `one of ${VERSIONS.join(', ')}`, opts[v]);
    }
  }
  const minVersion = opts.minVersion ?? 'TLSv1.2';
  const maxVersion = opts.maxVersion ?? 'TLSv1.3';
  if (VERSIONS.indexOf(minVersion) > VERSIONS.indexOf(maxVersion)) {
    throw new InvalidOptionError(
      `${name}.minVersion`,
      `"${name}.minVersion" ${show(minVersion)} is above "${name}.maxVersion" ${show(maxVersion)}`,
    );
  }
  if (
    opts.ticketKeys !== undefined &&
    !(Buffer.isBuffer(opts.ticketKeys) && opts.ticketKeys.length === 48)
  ) {
    throw new InvalidOptionError(
      `${name}.ticketKeys`,
      `"${name}.ticketKeys" must be a Buffer of 48 bytes, got ${
        Buffer.isBuffer(opts.ticketKeys) ? `${opts.ticketKeys.length} bytes` : show(opts.ticketKeys)
      }`,
    );
  }
  if (
    opts.sessionTimeout !== undefined &&
    !(Number.isInteger(opts.sessionTimeout) && opts.sessionTimeout > 0)
  ) {
    invalidOption(`${name}.sessionTimeout`, 'a positive integer (seconds)', opts.sessionTimeout);
  }
  if (opts.keylog !== undefined && typeof opts.keylog !== 'function') {
    invalidOption(`${name}.keylog`, 'a function', opts.keylog);
  }

  const shared: SecureContextOptions = {
    minVersion,
    maxVersion,
    ciphers: optionalString(`${name}.ciphers`, opts.ciphers),
    sigalgs: optionalString(`${name}.sigalgs`, opts.sigalgs),
    ecdhCurve: optionalString(`${name}.groups`, opts.groups),
    ca: opts.ca === undefined ? undefined : pemList(`${name}.ca`, opts.ca, true),
    crl: opts.crl === undefined ? undefined : pemList(`${name}.crl`, opts.crl, false),
    ticketKeys: opts.ticketKeys,
    sessionTimeout: opts.sessionTimeout,
    // No renegotiation (SSLEnableRenegotiation off; TLS 1.3 has none); no tickets when asked.
    secureOptions:
      cryptoConstants.SSL_OP_NO_RENEGOTIATION |
      (sessionResumption ? 0 : cryptoConstants.SSL_OP_NO_TICKET),
  };
  for (const k of Object.keys(shared) as (keyof SecureContextOptions)[]) {
    if (shared[k] === undefined) delete shared[k];
  }
  const contextOptions = { ...shared, ...certificateOptions(name, opts, subject, includeChain) };
  const main = context(name, contextOptions);

  const exact = new Map<string, SecureContext>();
  const wildcard: [string, SecureContext][] = [];
  if (opts.sni !== undefined) {
    if (typeof opts.sni !== 'object' || opts.sni === null || Array.isArray(opts.sni)) {
      invalidOption(`${name}.sni`, 'an object of host name to certificate', opts.sni);
    }
    for (const [host, cert] of Object.entries(opts.sni)) {
      const field = `${name}.sni[${JSON.stringify(host)}]`;
      const lower = host.toLowerCase();
      if (!/^(\*\.)?([a-z0-9-]+\.)*[a-z0-9-]+$/.test(lower)) {
        invalidOption(
          `${name}.sni`,
          'host names or one-label wildcards (*.example.com) as keys',
          host,
        );
      }
      if (typeof cert !== 'object' || cert === null)
        invalidOption(field, '{ cert, key } or { pfx }', cert);
      const ctx = context(field, {
        ...shared,
        ...certificateOptions(field, cert, undefined, includeChain),
      });
      if (lower.startsWith('*.')) wildcard.push([lower.slice(1), ctx]);
      else exact.set(lower, ctx);
    }
    // Longest suffix first: the most specific wildcard wins.
    wildcard.sort((a, b) => b[0].length - a[0].length);
  }
  return {
    options: Object.freeze({ ...opts }),
    contextOptions: Object.freeze(contextOptions),
    context: main,
    exact,
    wildcard,
    requestClientCert,
    keylog: opts.keylog,
  };
}

/** The context for the host name a client asked for (SNI), or undefined for the main one. */
export function contextFor(tls: ResolvedTls, servername: string): SecureContext | undefined {
  const name = servername.toLowerCase();
  const exact = tls.exact.get(name);
  if (exact) return exact;
  for (const [suffix, ctx] of tls.wildcard) {
    // One label: `*.example.com` matches `a.example.com`, not `example.com` nor `a.b.example.com`.
    if (
      name.endsWith(suffix) &&
      !name.slice(0, -suffix.length).includes('.') &&
      name.length > suffix.length
    ) {
      return ctx;
    }
  }
  return undefined;
}
