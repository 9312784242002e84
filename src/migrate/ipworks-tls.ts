/**
 * The TLS part of `fromIPWorksConfig()`: IPWorks' UseSSL, its certificate properties and its SSL
 * settings, turned into the fields of the `tls` option. Reads a PEMKeyFile store's file; every
 * other step works on the values given.
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { InvalidArgumentError, show, type UnmappedSetting } from '../errors';
import type { TlsCertificate, TlsOptions, TlsVersion } from '../transport/tls-options';
import { OPENSSL_CIPHER_NAMES } from './cipher-suites';
import type { IPWorksMember } from './ipworks-members';
import {
  memberWords,
  readBoolean,
  readInteger,
  readText,
  wrongValue,
  type IPWorksValue,
} from './ipworks-values';

/** One TLS setting of a configuration, and where it stands in it. */
export interface TlsSetting {
  readonly member: IPWorksMember;
  /** As given (`usessl`). */
  readonly name: string;
  readonly value: IPWorksValue;
  readonly position: number;
}

/** A setting that cannot be mapped, and where it stands in the configuration. */
export interface PlacedUnmapped extends UnmappedSetting {
  readonly position: number;
}

/** What gave a `tls` field, as an error about that field names it. */
export interface TlsSource {
  /** `IPWorks property "SSLCertStore" set to "server.pfx"`, or `the "certificate" option`. */
  readonly label: string;
  /** The value as given, to pick the source an error message quotes. */
  readonly value: IPWorksValue | undefined;
}

/** The `tls` option made from a configuration. */
export interface TlsMapping {
  /**
   * The `tls` option: set when the configuration turns TLS on (UseSSL=true) and a certificate
   * is known (from `SSLCertStore` or the `certificate` option).
   */
  readonly tls: TlsOptions | undefined;
  readonly unmapped: readonly PlacedUnmapped[];
  /** The settings behind each `tls` path (`tls.ca`, `tls.pfx`; `tls` for the certificate). */
  readonly sources: ReadonlyMap<string, readonly TlsSource[]>;
}

/** The members mapped here: UseSSL, the certificate, and the settings that are `tls` fields. */
export const TLS_MEMBERS: ReadonlySet<string> = new Set([
  'UseSSL',
  'SSLAuthenticateClients',
  'SSLCertStore',
  'SSLCertStorePassword',
  'SSLCertStoreType',
  'SSLCertSubject',
  'SSLEnabledProtocols',
  'SSLEnabledCipherSuites',
  'OpenSSLCipherList',
  'TLS12SignatureAlgorithms',
  'TLS13SignatureAlgorithms',
  'TLS12SupportedGroups',
  'TLS13SupportedGroups',
  'SSLCACerts',
  'OpenSSLCAFile',
  'OpenSSLCADir',
  'SSLIncludeCertChain',
  'ReuseSSLSession',
]);

/** The members that say which certificate to serve: left out when `certificate` is given. */
export const CERTIFICATE_MEMBERS: ReadonlySet<string> = new Set([
  'SSLCertEncoded',
  'SSLCertStore',
  'SSLCertStorePassword',
  'SSLCertStoreType',
  'SSLCertSubject',
]);

/**
 * IPWorks' certificate store types, by number (the /n software Certificate type's StoreType):
 * the index in this list, and 99 for Auto.
 */
const STORE_TYPES: readonly string[] = [
  'User',
  'Machine',
  'PFXFile',
  'PFXBlob',
  'JKSFile',
  'JKSBlob',
  'PEMKeyFile',
  'PEMKeyBlob',
  'PublicKeyFile',
  'PublicKeyBlob',
  'SSHPublicKeyBlob',
  'P7BFile',
  'P7BBlob',
  'SSHPublicKeyFile',
  'PPKFile',
  'PPKBlob',
  'XMLFile',
  'XMLBlob',
  'JWKFile',
  'JWKBlob',
  'SecurityKey',
  'BCFKSFile',
  'BCFKSBlob',
  'PKCS11',
];
const AUTO_STORE = 99;
/** The store types Node can read. */
const MAPPED_STORES = new Set(['PFXFile', 'PFXBlob', 'PEMKeyFile', 'PEMKeyBlob']);

/**
 * SSLEnabledProtocols' bits (each version has two, as IPWorks documents them) and the version
 * each stands for; SSL 2.0 and 3.0 have none in Node.
 */
const PROTOCOL_BITS: readonly (readonly [string, number, TlsVersion | undefined])[] = [
  ['SSL 2.0', 12, undefined],
  ['SSL 3.0', 48, undefined],
  ['TLS 1.0', 192, 'TLSv1'],
  ['TLS 1.1', 768, 'TLSv1.1'],
  ['TLS 1.2', 3072, 'TLSv1.2'],
  ['TLS 1.3', 12288, 'TLSv1.3'],
];
const ALL_PROTOCOL_BITS = PROTOCOL_BITS.reduce((all, [, bits]) => all | bits, 0);

/** IPWorks' names of groups, as OpenSSL names them. */
const GROUP_NAMES: Readonly<Record<string, string>> = {
  ecdhe_secp256r1: 'P-256',
  ecdhe_secp384r1: 'P-384',
  ecdhe_secp521r1: 'P-521',
  ecdhe_x25519: 'X25519',
  ecdhe_x448: 'X448',
  ffdhe_2048: 'ffdhe2048',
  ffdhe_3072: 'ffdhe3072',
  ffdhe_4096: 'ffdhe4096',
  ffdhe_6144: 'ffdhe6144',
  ffdhe_8192: 'ffdhe8192',
};

/** A value for an error message: long text (a PEM, a blob) cut short. */
function brief(value: unknown): string {
  return typeof value === 'string' && value.length > 48
    ? `${JSON.stringify(value.slice(0, 40))} (${value.length} characters)`
    : show(value);
}

/** `IPWorks config setting "X" set to "v"`. */
function labelOf(setting: TlsSetting): string {
  return `${memberWords(setting.member)} set to ${brief(setting.value)}`;
}

/** Items of a list setting: commas, semicolons or colons between them. */
function items(v: IPWorksValue, m: IPWorksMember): string[] {
  const text = Array.isArray(v) ? v.join(',') : readText(v, m);
  return text
    .split(/[,;:\s]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** True when Node's OpenSSL takes these context options. */
function openSslTakes(options: SecureContextOptions): boolean {
  try {
    createSecureContext(options);
    return true;
  } catch {
    return false;
  }
}

/** SSLEnabledProtocols: a sum of version bits, as a contiguous range of TLS versions. */
function protocols(v: IPWorksValue, m: IPWorksMember): Partial<TlsOptions> {
  const bits = readInteger(v, m);
  if (bits <= 0 || (bits & ~ALL_PROTOCOL_BITS) !== 0) {
    wrongValue(m, `a sum of ${PROTOCOL_BITS.map(([name, b]) => `${b} (${name})`).join(', ')}`, v);
  }
  const on = PROTOCOL_BITS.filter(([, b]) => (bits & b) !== 0);
  const old = on.filter(([, , version]) => version === undefined);
  if (old.length > 0) {
    throw new InvalidArgumentError(
      `${memberWords(m)} set to ${show(v)}: Node cannot speak ${old.map(([name]) => name).join(' or ')}; clear ${old.length === 1 ? 'its bits' : 'their bits'} (${old.map(([, b]) => b).join(', ')})`,
    );
  }
  const indexes = on.map(([name]) => PROTOCOL_BITS.findIndex(([n]) => n === name));
  const gap = PROTOCOL_BITS.slice(indexes[0], indexes[indexes.length - 1] + 1).find(
    ([name]) => !on.some(([n]) => n === name),
  );
  if (gap) {
    throw new InvalidArgumentError(
      `${memberWords(m)} set to ${show(v)}: rxws takes a range of versions (\`tls.minVersion\` to \`tls.maxVersion\`), and ${gap[0]} is off between ${on[0][0]} and ${on[on.length - 1][0]}`,
    );
  }
  return { minVersion: on[0][2], maxVersion: on[on.length - 1][2] };
}

/** SSLEnabledCipherSuites: IANA names, as the OpenSSL names of Node's `ciphers`; `*`: all. */
function cipherSuites(v: IPWorksValue, m: IPWorksMember): Partial<TlsOptions> | undefined {
  const names = items(v, m);
  if (names.length === 0 || (names.length === 1 && names[0] === '*')) return undefined;
  const openssl = names.map((name) => {
    const found = OPENSSL_CIPHER_NAMES[name.toUpperCase()];
    if (!found) {
      throw new InvalidArgumentError(
        `${memberWords(m)} set to ${brief(v)}: ${show(name)} is not the IANA name of a cipher suite Node's OpenSSL has (give OpenSSL's own list format with OpenSSLCipherList instead)`,
      );
    }
    return found;
  });
  return { ciphers: openssl.join(':') };
}

/** OpenSSLCipherList: OpenSSL's list format, as Node's `ciphers` takes it. */
function cipherList(v: IPWorksValue, m: IPWorksMember): Partial<TlsOptions> | undefined {
  const list = readText(v, m).trim();
  if (list === '') return undefined;
  if (!openSslTakes({ ciphers: list })) {
    throw new InvalidArgumentError(
      `${memberWords(m)} set to ${show(v)}: Node's OpenSSL matches no cipher suite with it`,
    );
  }
  return { ciphers: list };
}

/** TLS12/TLS13SignatureAlgorithms: IPWorks' names (`sha256-rsa`) as OpenSSL's (`RSA+SHA256`). */
function signatureAlgorithms(v: IPWorksValue, m: IPWorksMember): Partial<TlsOptions> | undefined {
  const out: string[] = [];
  for (const name of items(v, m)) {
    const lower = name.toLowerCase();
    const hashSig = /^(sha1|sha224|sha256|sha384|sha512)-(rsa|dsa|ecdsa)$/.exec(lower);
    const pss = /^rsa_pss_(sha256|sha384|sha512)$/.exec(lower);
    const translated = hashSig
      ? [`${hashSig[2].toUpperCase()}+${hashSig[1].toUpperCase()}`]
      : pss
        ? // IPWorks' one PSS name covers both of TLS 1.3's: with an RSA key or an RSA-PSS key.
          [`rsa_pss_rsae_${pss[1]}`, `rsa_pss_pss_${pss[1]}`]
        : lower === 'ecdsa_sha1'
          ? ['ECDSA+SHA1']
          : [name];
    for (const t of translated) {
      if (!openSslTakes({ sigalgs: t })) {
        throw new InvalidArgumentError(
          `${memberWords(m)} set to ${brief(v)}: Node's OpenSSL has no signature algorithm ${show(name)}`,
        );
      }
    }
    out.push(...translated);
  }
  return out.length === 0 ? undefined : { sigalgs: out.join(':') };
}

/** TLS12/TLS13SupportedGroups: IPWorks' names (`ecdhe_secp256r1`) as OpenSSL's (`P-256`). */
function groups(v: IPWorksValue, m: IPWorksMember): Partial<TlsOptions> | undefined {
  const out: string[] = [];
  for (const name of items(v, m)) {
    const group = GROUP_NAMES[name.toLowerCase()] ?? name;
    if (!openSslTakes({ ecdhCurve: group })) {
      throw new InvalidArgumentError(
        `${memberWords(m)} set to ${brief(v)}: Node's OpenSSL has no group ${show(name)}`,
      );
    }
    out.push(group);
  }
  return out.length === 0 ? undefined : { groups: out.join(':') };
}

/** SSLCACerts: PEM certificates, as text. */
function caText(v: IPWorksValue, m: IPWorksMember): Partial<TlsOptions> | undefined {
  const text = readText(v, m).trim();
  if (text === '') return undefined;
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) {
    throw new InvalidArgumentError(
      `${memberWords(m)} must be PEM certificates (-----BEGIN CERTIFICATE----- blocks), got ${brief(v)}`,
    );
  }
  return { ca: [text] };
}

/** OpenSSLCAFile, OpenSSLCADir: a path, read when the server is made. */
function caPath(v: IPWorksValue, m: IPWorksMember): Partial<TlsOptions> | undefined {
  const path = readText(v, m).trim();
  return path === '' ? undefined : { ca: [path] };
}

/** The `tls` fields of a setting, or undefined when its value asks for rxws's default. */
const FIELDS: Readonly<
  Record<string, (v: IPWorksValue, m: IPWorksMember) => Partial<TlsOptions> | undefined>
> = {
  SSLAuthenticateClients: (v, m) => (readBoolean(v, m) ? { requestClientCert: true } : undefined),
  SSLEnabledProtocols: protocols,
  SSLEnabledCipherSuites: cipherSuites,
  OpenSSLCipherList: cipherList,
  TLS12SignatureAlgorithms: signatureAlgorithms,
  TLS13SignatureAlgorithms: signatureAlgorithms,
  TLS12SupportedGroups: groups,
  TLS13SupportedGroups: groups,
  SSLCACerts: caText,
  OpenSSLCAFile: caPath,
  OpenSSLCADir: caPath,
  SSLIncludeCertChain: (v, m) => ({ includeChain: readBoolean(v, m) }),
  ReuseSSLSession: (v, m) => ({ sessionResumption: readBoolean(v, m) }),
};

/** The store type a value names: a number, or a name with or without `cst` (`cstPFXFile`). */
function storeType(v: IPWorksValue, m: IPWorksMember): { name: string; number: number } {
  if (typeof v === 'number' || (typeof v === 'string' && /^\s*\d+\s*$/.test(v))) {
    const n = readInteger(v, m);
    if (n === AUTO_STORE) return { name: 'Auto', number: n };
    if (n >= 0 && n < STORE_TYPES.length) return { name: STORE_TYPES[n], number: n };
  } else if (typeof v === 'string') {
    const wanted = v.trim().toLowerCase().replace(/^cst/, '');
    if (wanted === 'auto') return { name: 'Auto', number: AUTO_STORE };
    const n = STORE_TYPES.findIndex((t) => t.toLowerCase() === wanted);
    if (n >= 0) return { name: STORE_TYPES[n], number: n };
  }
  return wrongValue(
    m,
    'a certificate store type: a number from 0 to 23 or 99, or its name (PFXFile, PEMKeyFile, ...)',
    v,
  );
}

/** Splits PEM text holding a certificate (and its chain) and one private key. */
function splitPem(text: string, label: string): { cert: string; key: string } {
  const blocks = text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
  const certs = blocks.filter((b) => /^-----BEGIN (X509 |TRUSTED )?CERTIFICATE-----/.test(b));
  const keys = blocks.filter((b) => /^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(b));
  if (certs.length === 0 || keys.length !== 1) {
    throw new InvalidArgumentError(
      `${label}: a PEM store must hold a certificate (then its chain) and its private key; it holds ${certs.length} certificate(s) and ${keys.length} private key(s)`,
    );
  }
  return { cert: `${certs.join('\n')}\n`, key: `${keys[0]}\n` };
}

/** An unmapped entry for a setting. */
function entry(setting: TlsSetting, message: string): PlacedUnmapped {
  return { name: setting.name, message, position: setting.position };
}

const WINDOWS_ADVICE =
  'Node reads PEM and PKCS#12 only (no Windows certificate stores, JKS or PKCS#11): export the certificate and its key to a PKCS#12 or PEM file, then give SSLCertStoreType PFXFile or PEMKeyFile, or the `certificate` option of fromIPWorksConfig()';

/**
 * The certificate of the `tls` option from SSLCertStoreType, SSLCertStore, SSLCertStorePassword
 * and SSLCertSubject, or the entries that say why it cannot be made.
 */
function storeCertificate(
  byName: ReadonlyMap<string, TlsSetting>,
  useSsl: TlsSetting,
  sources: Map<string, TlsSource[]>,
): { certificate?: Partial<TlsOptions>; unmapped: PlacedUnmapped[] } {
  const typeSetting = byName.get('SSLCertStoreType');
  const store = byName.get('SSLCertStore');
  const password = byName.get('SSLCertStorePassword');
  const subject = byName.get('SSLCertSubject');
  const type = typeSetting
    ? storeType(typeSetting.value, typeSetting.member)
    : { name: 'User', number: 0 };
  const storeText = store ? readText(store.value, store.member).trim() : '';
  if (!store || storeText === '') {
    if (typeSetting && MAPPED_STORES.has(type.name)) {
      throw new InvalidArgumentError(
        `${memberWords(typeSetting.member)} is ${type.name} (${type.number}), but "SSLCertStore" is not given: it holds the ${type.name.endsWith('File') ? 'file name' : type.name === 'PFXBlob' ? 'bundle, in base64' : 'PEM text'}`,
      );
    }
    if (typeSetting) {
      return {
        unmapped: [
          entry(
            typeSetting,
            `${memberWords(typeSetting.member)} ${type.name} (${type.number}) has no rxws equivalent: ${WINDOWS_ADVICE}`,
          ),
        ],
      };
    }
    return {
      unmapped: [
        entry(
          useSsl,
          `${memberWords(useSsl.member)} is true, but the configuration gives no certificate rxws can read: give SSLCertStoreType PFXFile, PFXBlob, PEMKeyFile or PEMKeyBlob with SSLCertStore, or the \`certificate\` option of fromIPWorksConfig() ({ cert, key } or { pfx, passphrase })`,
        ),
      ],
    };
  }
  if (!MAPPED_STORES.has(type.name)) {
    return {
      unmapped: [
        typeSetting
          ? entry(
              typeSetting,
              `${memberWords(typeSetting.member)} ${type.name} (${type.number}) has no rxws equivalent: ${WINDOWS_ADVICE}`,
            )
          : entry(
              store,
              `${memberWords(store.member)} is read as a Windows user store (SSLCertStoreType User, 0, IPWorks' default), which Node does not have: ${WINDOWS_ADVICE}`,
            ),
      ],
    };
  }
  const label = labelOf(store);
  const source: TlsSource[] = [{ label, value: store.value }];
  let certificate: Partial<TlsOptions>;
  if (type.name === 'PFXFile') {
    certificate = { pfx: storeText };
    sources.set('tls.pfx', source);
  } else if (type.name === 'PFXBlob') {
    const base64 = storeText.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) {
      throw new InvalidArgumentError(
        `${memberWords(store.member)} must be the PKCS#12 bundle in base64 (SSLCertStoreType PFXBlob), got ${brief(store.value)}`,
      );
    }
    certificate = { pfx: Buffer.from(base64, 'base64') };
    sources.set('tls.pfx', source);
  } else {
    let text = storeText;
    if (type.name === 'PEMKeyFile') {
      try {
        text = readFileSync(storeText, 'utf8');
      } catch (err) {
        throw new InvalidArgumentError(
          `${label}: the PEM file cannot be read (${(err as Error).message})`,
          { cause: err },
        );
      }
    }
    certificate = splitPem(text, label);
    sources.set('tls.cert', source);
    sources.set('tls.key', source);
  }
  sources.set('tls', source);
  const unmapped: PlacedUnmapped[] = [];
  if (password) {
    const passphrase = readText(password.value, password.member);
    if (passphrase !== '') {
      certificate.passphrase = passphrase;
      sources.set('tls.passphrase', [{ label: labelOf(password), value: password.value }]);
    }
  }
  if (subject) {
    const text = readText(subject.value, subject.member).trim();
    if (text !== '' && text !== '*') {
      if (type.name.startsWith('PFX')) {
        unmapped.push(
          entry(
            subject,
            `${memberWords(subject.member)} cannot be mapped with a PKCS#12 store: rxws serves the certificate of the bundle's key (\`tls.certSubject\` picks among PEM certificates only); export the one to serve, or leave SSLCertSubject out with \`ignore\` when that is the one`,
          ),
        );
      } else {
        certificate.certSubject = text;
        sources.set('tls.certSubject', [{ label: labelOf(subject), value: subject.value }]);
      }
    }
  }
  return { certificate, unmapped };
}

/**
 * Maps the TLS settings of a configuration to the `tls` option.
 *
 * - `UseSSL=true` turns TLS on; the other settings become `tls` fields only then (IPWorks
 *   ignores them without it): given without it, each is reported as unmapped.
 * - The certificate comes from `certificate` when given (the configuration's certificate
 *   settings are then left out by the caller), else from SSLCertStoreType and SSLCertStore
 *   (PFXFile, PFXBlob, PEMKeyFile, PEMKeyBlob) with SSLCertStorePassword and SSLCertSubject.
 *   Without one, `tls` is left out and an unmapped entry for UseSSL says what to give.
 * - Lists merge: TLS12/TLS13SignatureAlgorithms into one `sigalgs`, TLS12/TLS13SupportedGroups
 *   into one `groups` (Node has one list of each for both versions), SSLCACerts, OpenSSLCAFile
 *   and OpenSSLCADir into one `ca`.
 *
 * @throws {InvalidArgumentError} for a value of the wrong kind, one Node cannot take, or two
 *   settings that both give `tls.ciphers`.
 */
export function tlsFromIPWorks(
  settings: readonly TlsSetting[],
  certificate: TlsCertificate | undefined,
): TlsMapping {
  const byName = new Map(settings.map((s) => [s.member.name, s]));
  const useSsl = byName.get('UseSSL');
  const on = useSsl ? readBoolean(useSsl.value, useSsl.member) : false;
  const unmapped: PlacedUnmapped[] = [];
  const sources = new Map<string, TlsSource[]>();
  const fields: Record<string, unknown> = {};
  const lists: Record<'sigalgs' | 'groups', string[]> = { sigalgs: [], groups: [] };
  const ca: string[] = [];
  let ciphersFrom: TlsSetting | undefined;
  const notOn = (s: TlsSetting): PlacedUnmapped =>
    entry(
      s,
      `${memberWords(s.member)} applies only with UseSSL=true, which this configuration does not set: add UseSSL=true to serve wss://, or leave it out with \`ignore\``,
    );

  for (const s of settings) {
    const convert = FIELDS[s.member.name];
    if (!convert) continue;
    const got = convert(s.value, s.member);
    if (got === undefined) continue;
    if (!on) {
      unmapped.push(notOn(s));
      continue;
    }
    const source: TlsSource = { label: labelOf(s), value: s.value };
    for (const [key, value] of Object.entries(got)) {
      const path = `tls.${key}`;
      sources.set(path, [...(sources.get(path) ?? []), source]);
      if (key === 'ca') ca.push(...(value as string[]));
      else if (key === 'sigalgs' || key === 'groups') {
        const option = key === 'sigalgs' ? 'sigalgs' : 'ecdhCurve';
        for (const item of (value as string).split(':')) {
          // OpenSSL refuses a list naming one algorithm twice, under either of its names
          // (`RSA+SHA256`, `rsa_pkcs1_sha256`): each is known good alone, so a refusal here
          // means it is in the list already.
          if (openSslTakes({ [option]: [...lists[key], item].join(':') })) lists[key].push(item);
        }
      } else {
        if (key === 'ciphers') {
          if (ciphersFrom) {
            throw new InvalidArgumentError(
              `IPWorks config settings "${ciphersFrom.member.name}" and "${s.member.name}" both give \`tls.ciphers\`; keep one`,
            );
          }
          ciphersFrom = s;
        }
        fields[key] = value;
      }
    }
  }
  if (lists.sigalgs.length > 0) fields.sigalgs = lists.sigalgs.join(':');
  if (lists.groups.length > 0) fields.groups = lists.groups.join(':');
  if (ca.length > 0) fields.ca = ca;

  if (!useSsl || !on) {
    for (const name of [
      'SSLCertStoreType',
      'SSLCertStore',
      'SSLCertStorePassword',
      'SSLCertSubject',
    ]) {
      const s = byName.get(name);
      if (!s) continue;
      if (name === 'SSLCertStoreType') storeType(s.value, s.member);
      else if (readText(s.value, s.member).trim() === '') continue;
      unmapped.push(notOn(s));
    }
    if (certificate !== undefined) {
      throw new InvalidArgumentError(
        '"certificate" is given, but the configuration does not turn TLS on: add UseSSL=true',
      );
    }
    return { tls: undefined, unmapped, sources };
  }

  if (certificate !== undefined) {
    const given = checkedCertificate(certificate);
    const source: TlsSource[] = [{ label: 'the "certificate" option', value: undefined }];
    for (const path of ['tls', 'tls.cert', 'tls.key', 'tls.pfx', 'tls.passphrase']) {
      sources.set(path, source);
    }
    return { tls: { ...given, ...fields }, unmapped, sources };
  }
  const made = storeCertificate(byName, useSsl, sources);
  unmapped.push(...made.unmapped);
  return {
    tls: made.certificate ? { ...made.certificate, ...fields } : undefined,
    unmapped,
    sources,
  };
}

/** The `certificate` option: an object of the certificate fields of `tls` only. */
function checkedCertificate(value: unknown): TlsCertificate {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidArgumentError(
      `"certificate" must be { cert, key } or { pfx, passphrase }, got ${show(value)}`,
    );
  }
  for (const key of Object.keys(value)) {
    if (!['cert', 'key', 'pfx', 'passphrase'].includes(key)) {
      throw new InvalidArgumentError(
        `"certificate" takes cert, key, pfx and passphrase, not ${show(key)}: the other \`tls\` fields come from the configuration, or add them to the result`,
      );
    }
  }
  return { ...(value as TlsCertificate) };
}
