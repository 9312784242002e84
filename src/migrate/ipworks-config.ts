import {
  InvalidArgumentError,
  InvalidOptionError,
  UnmappedSettingError,
  show,
  type UnmappedSetting,
} from '../errors';
import { resolveOptions, type ServerOptions } from '../options';
import type { TlsCertificate } from '../transport/tls-options';
import { IPWORKS_MEMBERS, type IPWorksMember, type IPWorksMemberKind } from './ipworks-members';
import {
  CERTIFICATE_MEMBERS,
  TLS_MEMBERS,
  tlsFromIPWorks,
  type TlsSetting,
  type TlsSource,
} from './ipworks-tls';
import {
  KIND_WORDS,
  readBoolean,
  readInteger,
  readList,
  readText,
  wrongValue,
  type IPWorksValue,
} from './ipworks-values';

export type { IPWorksValue } from './ipworks-values';

/**
 * IPWorks WebSocketServer settings in the forms users have them:
 * - a string as passed to `Config()` (`"BufferMessage=false"`), or several, one per line or
 *   separated by `;`; a value in double quotes keeps its `;` and spaces; blank lines and lines
 *   starting with `#` are skipped;
 * - an array of strings, each one `Config()` argument taken whole (`Name=Value`, the value
 *   verbatim: the form for a value that holds `;` or `"`);
 * - an object of name to value (`{ LocalPort: 8080, BufferMessage: true }`); `undefined` values
 *   are skipped.
 *
 * Names are case-insensitive, as in IPWorks; indexed names keep their index
 * (`MessageLength[3]`).
 */
export type IPWorksConfig =
  string | readonly string[] | Readonly<Record<string, IPWorksValue | undefined>>;

/** Options of `fromIPWorksConfig()`. */
export interface FromIPWorksConfigOptions {
  /**
   * Settings to leave out, mapped or not: the ones you have decided to handle otherwise (TLS
   * settings while you attach rxws to an `https.Server`, say). Case-insensitive; a name without
   * an index also leaves out its indexed forms. Default `[]`.
   */
  ignore?: readonly string[];
  /**
   * The certificate to serve when the configuration turns TLS on (UseSSL=true): `{ cert, key }`
   * or `{ pfx, passphrase }`, paths or contents, as in the `tls` option. It goes into the `tls`
   * option made, and the configuration's own certificate settings (SSLCertEncoded,
   * SSLCertStore, SSLCertStorePassword, SSLCertStoreType, SSLCertSubject) are left out: the way
   * to carry over a certificate kept in a Windows store, once exported. Default: the
   * certificate the configuration names, if Node can read it.
   */
  certificate?: TlsCertificate;
}

/** One `Name=Value` as given, before it is looked up. */
interface Setting {
  readonly name: string;
  readonly value: IPWorksValue;
}

/** The converter's answer for a value that maps to no option (the rxws default already does it). */
const NOTHING = Symbol('nothing');
/** The converter's answer for a value rxws cannot do. */
const UNMAPPED = Symbol('unmapped');

/**
 * Turns a member's value into the value of its `option` (or NOTHING, UNMAPPED).
 * @throws {InvalidArgumentError} for a value of the wrong kind.
 */
type Converter = (value: IPWorksValue, member: IPWorksMember) => unknown;

// The value kinds of IPWorks settings, read from text as IPWorks reads them.
const boolean: Converter = readBoolean;
const integer = readInteger;
const text: Converter = readText;
const list: Converter = readList;
/** A switch rxws cannot turn on: off maps to nothing, on cannot be mapped. */
const offOnly: Converter = (v, m) => (boolean(v, m) ? UNMAPPED : NOTHING);
/** A number whose 0 is what rxws does; any other value cannot be mapped. */
const zeroOnly: Converter = (v, m) => (integer(v, m) === 0 ? NOTHING : UNMAPPED);

/** The converter of every member that `fromIPWorksConfig()` can map, by name. */
const CONVERTERS: Readonly<Record<string, Converter>> = {
  ConnectionBacklog: integer,
  DefaultTimeout: integer,
  Listening: offOnly,
  LocalHost: (v, m) => {
    // IPWorks' "" is every interface, rxws's default; rxws's `host` cannot be empty.
    const host = (text(v, m) as string).trim();
    return host === '' ? NOTHING : host;
  },
  LocalPort: integer,
  BufferMessage: boolean,
  DisconnectStatusCode: integer,
  DisconnectStatusDescription: text,
  MaxFrameSize: integer,
  WaitForCloseResponse: boolean,
  AllowedClients: list,
  BindExclusively: boolean,
  CloseStreamAfterTransfer: boolean,
  DefaultConnectionTimeout: (v, m) => {
    // Seconds, 0 = no limit; rxws's handshakeTimeout is in ms and always bounds the handshake.
    const seconds = integer(v, m);
    return seconds === 0 ? NOTHING : seconds * 1000;
  },
  InBufferSize: integer,
  KeepAliveInterval: integer,
  KeepAliveTime: integer,
  MaxConnections: integer,
  OutBufferSize: integer,
  TcpNoDelay: boolean,
  UseIPv6: (v, m) => {
    // 0 IPv4, 1 IPv6, 2 both (as IPWorks' IPPort); true and false as 1 and 0.
    const t = typeof v === 'string' ? v.trim().toLowerCase() : v;
    if (t === true || t === 1 || t === 2 || t === 'true' || t === '1' || t === '2') return true;
    if (t === false || t === 0 || t === 'false' || t === '0') return false;
    return wrongValue(m, 'true, false, 0, 1 or 2', v);
  },
  LogSSLPackets: offOnly,
  SSLCheckCRL: (v, m) => {
    // 0 off; 1 and 2 fetch the lists, which Node cannot do (true and false as 1 and 0).
    const t = typeof v === 'string' ? v.trim().toLowerCase() : v;
    if (t === false || t === 0 || t === 'false' || t === '0') return NOTHING;
    if (t === true || t === 1 || t === 2 || t === 'true' || t === '1' || t === '2') return UNMAPPED;
    return wrongValue(m, '0, 1 or 2', v);
  },
  SSLCipherStrength: zeroOnly,
  // rxws refuses renegotiation and OpenSSL always supports the renegotiation_info extension.
  SSLEnableRenegotiation: (v, m) => (boolean(v, m) ? NOTHING : UNMAPPED),
  SSLSecurityFlags: zeroOnly,
  LogLevel: integer,
};

const KIND_ORDER: readonly IPWorksMemberKind[] = ['property', 'config', 'field', 'method', 'event'];

/**
 * Members by lower-case name. A name two kinds share (`Connected`, `ReadyToSend`: a connection
 * field and an event) finds the first kind of KIND_ORDER: the one that holds a value, as a
 * setting does. An indexed member is found by its name with any index, or none.
 */
const BY_NAME: ReadonlyMap<string, IPWorksMember> = (() => {
  const map = new Map<string, IPWorksMember>();
  for (const kind of KIND_ORDER) {
    for (const m of IPWORKS_MEMBERS) {
      if (m.kind !== kind) continue;
      const key = baseName(m.name);
      if (!map.has(key)) map.set(key, m);
    }
  }
  return map;
})();

/** The lower-case name without its index: `messagelength` for `MessageLength[3]`. */
function baseName(name: string): string {
  return name.replace(/\[[^\]]*\]$/, '').toLowerCase();
}

/**
 * Maps the configuration of IPWorks' WebSocketServer (its properties and `Config()` settings)
 * to `createServer()` options, converting values and units, so a migrated server starts with
 * the settings it had. Each setting with an rxws equivalent becomes its option; docs/ipworks.md
 * lists every member of the original with what rxws has for it.
 *
 * - Values: booleans as `true`/`false`/`1`/`0` (any case), integers in decimal, lists
 *   (`AllowedClients`) comma-separated or as an array. Units are converted where they differ:
 *   `DefaultConnectionTimeout` in seconds becomes `handshakeTimeout` in milliseconds.
 * - A value that asks only for what rxws does by default maps to no option: `LocalHost=""`,
 *   `DefaultConnectionTimeout=0` (rxws's 10 s bound applies), `Listening`, `UseSSL`,
 *   `SSLAuthenticateClients`, `LogSSLPackets` set to false, `SSLEnableRenegotiation` set to
 *   true, and `SSLCheckCRL`, `SSLCipherStrength`, `SSLSecurityFlags` set to 0.
 * - TLS: `UseSSL=true` makes the `tls` option, from the certificate (SSLCertStoreType PFXFile,
 *   PFXBlob, PEMKeyFile or PEMKeyBlob with SSLCertStore, SSLCertStorePassword, SSLCertSubject;
 *   or the `certificate` option, which replaces them) and the SSL settings that are `tls` fields
 *   (SSLEnabledProtocols, cipher suites, signature algorithms, groups, CAs, chain, session
 *   reuse, client certificates). The result is always one `createServer()` accepts: with TLS on
 *   but no certificate rxws can read, `tls` is left out and UseSSL is reported unmapped, saying
 *   what to give; a TLS setting without `UseSSL=true` (IPWorks ignores it then) is reported too.
 * - Settings without an equivalent (read-only values, methods, events, unknown names, a
 *   Windows certificate store) do not stop the reading: every one is collected, and one
 *   `UnmappedSettingError` lists them all, in the order given, each with why and what to use
 *   instead. Leave out the ones you handle otherwise with `ignore`. Nothing is dropped silently.
 *
 * ```ts
 * import { createServer, fromIPWorksConfig } from 'rxws';
 *
 * const options = fromIPWorksConfig(`
 *   LocalPort=8080
 *   BufferMessage=true; MaxConnections=5000
 *   AllowedClients=127.0.0.1,10.0.0.*
 *   DefaultConnectionTimeout=30
 * `);
 * // { port: 8080, bufferMessage: true, maxConnections: 5000,
 * //   allowedClients: ['127.0.0.1', '10.0.0.*'], handshakeTimeout: 30000 }
 * const server = createServer({ ...options, onOpenRequest: (req) => req.url === '/chat' });
 * ```
 *
 * @param config a `Config()` string (several settings one per line or separated by `;`), an
 *   array of `Config()` strings, or an object of name to value; see `IPWorksConfig`.
 * @param options `ignore`: names of settings to leave out (default `[]`); `certificate`: the
 *   certificate to serve, `{ cert, key }` or `{ pfx, passphrase }` (default: the
 *   configuration's).
 * @returns the options, unresolved (defaults are not filled in), to spread into `createServer()`.
 * @throws {InvalidArgumentError} for a setting written wrong, a value of the wrong kind or out of
 *   the option's range (naming the IPWorks setting and the value), a setting given twice, two
 *   settings that both give `tls.ciphers`, or a `certificate` without `UseSSL=true`.
 * @throws {UnmappedSettingError} `ERR_UNMAPPED_SETTING`, listing every setting without an rxws
 *   option (`settings`), once the rest is known to be valid.
 */
export function fromIPWorksConfig(
  config: IPWorksConfig,
  options: FromIPWorksConfigOptions = {},
): ServerOptions {
  const ignore: unknown = options?.ignore ?? [];
  if (!Array.isArray(ignore) || ignore.some((n) => typeof n !== 'string')) {
    throw new InvalidArgumentError(
      `"ignore" must be an array of setting names, got ${show(ignore)}`,
    );
  }
  const ignored = new Set((ignore as string[]).map((n) => n.trim().toLowerCase()));
  const certificate = options?.certificate;
  const result: Record<string, unknown> = {};
  /** What gave each option path set, for naming it in an option error. */
  const sources = new Map<string, readonly TlsSource[]>();
  const seen = new Set<IPWorksMember>();
  const unmapped: (UnmappedSetting & { position: number })[] = [];
  const tlsSettings: TlsSetting[] = [];

  settingsOf(config).forEach(({ name, value }, position) => {
    const found = BY_NAME.get(baseName(name));
    // An index on a member that takes none makes an unknown name.
    const member = found && (found.name.includes('[') || !name.includes('[')) ? found : undefined;
    if (
      ignored.has(name.toLowerCase()) ||
      ignored.has(baseName(name)) ||
      (member && ignored.has(member.name.toLowerCase())) ||
      // A certificate given to fromIPWorksConfig() replaces the configuration's.
      (member && certificate !== undefined && CERTIFICATE_MEMBERS.has(member.name))
    ) {
      return;
    }
    if (!member) {
      unmapped.push({ name, message: unknownMessage(name), position });
      return;
    }
    if (seen.has(member) && !member.name.includes('[')) {
      throw new InvalidArgumentError(
        `IPWorks ${KIND_WORDS[member.kind]} "${member.name}" is given twice; keep one`,
      );
    }
    seen.add(member);
    if (TLS_MEMBERS.has(member.name)) {
      tlsSettings.push({ member, name, value, position });
      return;
    }
    const convert = CONVERTERS[member.name];
    const converted = convert ? convert(value, member) : UNMAPPED;
    if (converted === NOTHING) return;
    if (converted === UNMAPPED || member.option === undefined) {
      unmapped.push({ name, message: unmappedMessage(member), position });
      return;
    }
    setPath(result, member.option, converted);
    sources.set(member.option, [
      { label: `IPWorks ${KIND_WORDS[member.kind]} "${member.name}" set to ${show(value)}`, value },
    ]);
  });

  // KeepAliveInterval alone turns keep-alive on, as in IPWorks, with the OS's idle time.
  const keepAlive = result.keepAlive as { time?: number; interval?: number } | undefined;
  if (keepAlive && keepAlive.time === undefined) result.keepAlive = { time: 0, ...keepAlive };

  const tls = tlsFromIPWorks(tlsSettings, certificate);
  if (tls.tls) result.tls = tls.tls;
  unmapped.push(...tls.unmapped);
  for (const [path, from] of tls.sources) sources.set(path, from);

  try {
    resolveOptions(result as ServerOptions);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    const root = err.option.split('.')[0];
    const candidates =
      sources.get(err.option) ??
      (root === 'tls'
        ? undefined
        : [...sources.entries()].find(([path]) => path.split('.')[0] === err.option)?.[1]);
    if (!candidates) throw err;
    // Of several settings behind one path (CA sources), the one the message quotes.
    const source =
      candidates.find((c) => typeof c.value === 'string' && err.message.includes(c.value.trim())) ??
      candidates[0];
    throw new InvalidArgumentError(`${source.label}: ${err.message}`, { cause: err });
  }
  if (unmapped.length > 0) {
    throw new UnmappedSettingError(
      [...unmapped]
        .sort((a, b) => a.position - b.position)
        .map(({ name, message }) => ({ name, message })),
    );
  }
  return result as ServerOptions;
}

/** The settings of a configuration, in order, in whichever form it came. */
function settingsOf(config: IPWorksConfig): Setting[] {
  if (typeof config === 'string') return parseConfigText(config);
  if (Array.isArray(config)) {
    return config.map((line: unknown) => {
      if (typeof line !== 'string') {
        throw new InvalidArgumentError(
          `fromIPWorksConfig() takes an array of strings, got an element ${show(line)}`,
        );
      }
      const eq = line.indexOf('=');
      if (eq === -1) throw noValue(line);
      return { name: checkedName(line.slice(0, eq), line), value: line.slice(eq + 1) };
    });
  }
  if (config === null || typeof config !== 'object') {
    throw new InvalidArgumentError(
      `fromIPWorksConfig() takes a string, an array of strings or an object, got ${show(config)}`,
    );
  }
  const settings: Setting[] = [];
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (value === undefined) continue;
    const isList = Array.isArray(value) && value.every((s) => typeof s === 'string');
    if (!isList && !['string', 'number', 'boolean'].includes(typeof value)) {
      throw new InvalidArgumentError(
        `IPWorks setting "${key}" must be a string, a number, a boolean or an array of strings, got ${show(value)}`,
      );
    }
    settings.push({ name: checkedName(key, key), value: value as IPWorksValue });
  }
  return settings;
}

/**
 * Reads `Name=Value` settings from text: one per line or separated by `;`, a value in double
 * quotes taken as is; blank lines and `#` lines skipped.
 */
function parseConfigText(textConfig: string): Setting[] {
  const settings: Setting[] = [];
  for (const rawLine of textConfig.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    let at = 0;
    while (at < line.length) {
      const eq = line.indexOf('=', at);
      const semi = line.indexOf(';', at);
      if (eq === -1 || (semi !== -1 && semi < eq)) {
        // A piece without "=": an empty one (";;", a trailing ";") is skipped.
        const piece = line.slice(at, semi === -1 ? undefined : semi).trim();
        if (piece !== '') throw noValue(piece);
        at = semi === -1 ? line.length : semi + 1;
        continue;
      }
      let start = eq + 1;
      while (line[start] === ' ' || line[start] === '\t') start++;
      let value: string;
      let end: number;
      if (line[start] === '"') {
        const close = line.indexOf('"', start + 1);
        if (close === -1) {
          throw new InvalidArgumentError(
            `IPWorks config ${show(line.slice(at).trim())} has a quoted value without its closing quote`,
          );
        }
        value = line.slice(start + 1, close);
        end = close + 1;
        while (line[end] === ' ' || line[end] === '\t') end++;
        if (end < line.length && line[end] !== ';') {
          throw new InvalidArgumentError(
            `IPWorks config ${show(line.slice(at).trim())} has text after its quoted value`,
          );
        }
      } else {
        end = semi === -1 ? line.length : semi;
        value = line.slice(start, end).trim();
      }
      const piece = line.slice(at, end).trim();
      settings.push({ name: checkedName(line.slice(at, eq), piece), value });
      at = end + 1;
    }
  }
  return settings;
}

/** A setting name, trimmed: letters and digits, and an index in brackets. */
function checkedName(raw: string, piece: string): string {
  const name = raw.trim();
  if (!/^[A-Za-z][A-Za-z0-9]*(\[[^\]]*\])?$/.test(name)) {
    throw new InvalidArgumentError(
      `IPWorks config ${show(piece.trim())} does not start with a setting name (Name=Value)`,
    );
  }
  return name;
}

function noValue(piece: string): InvalidArgumentError {
  return new InvalidArgumentError(
    `IPWorks config ${show(piece.trim())} has no "=": give each setting as Name=Value`,
  );
}

/** Sets `a.b` in `target`, making `a` an object if needed. */
function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const [head, ...rest] = path.split('.');
  if (rest.length === 0) {
    target[head] = value;
    return;
  }
  const inner = (target[head] ??= {}) as Record<string, unknown>;
  setPath(inner, rest.join('.'), value);
}

/** Why a member maps to no option, and what to use instead, in one sentence. */
function unmappedMessage(member: IPWorksMember): string {
  const why = member.use
    ? `use ${member.use}${member.note ? `; ${member.note}` : ''}`
    : member.note;
  return member.kind === 'property' || member.kind === 'config'
    ? `IPWorks ${KIND_WORDS[member.kind]} "${member.name}" has no rxws option: ${why}`
    : `"${member.name}" is an IPWorks ${KIND_WORDS[member.kind]}, not a setting: ${why}`;
}

function unknownMessage(name: string): string {
  const near = nearestMember(name);
  return `"${name}" is not a member of IPWorks WebSocketServer${near ? `; did you mean "${near}"?` : ''}`;
}

/** The member whose name is within two edits of `name` (ignoring case and index), if one is. */
function nearestMember(name: string): string | undefined {
  const wanted = baseName(name);
  let best: { name: string; distance: number } | undefined;
  for (const m of IPWORKS_MEMBERS) {
    const d = editDistance(wanted, baseName(m.name));
    if (d <= 2 && d < wanted.length / 3 && (!best || d < best.distance)) {
      best = { name: m.name, distance: d };
    }
  }
  return best?.name;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j] + 1,
        current[j - 1] + 1,
        previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length];
}
