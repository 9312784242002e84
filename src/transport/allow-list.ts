import { ConnectionRefusedError, InvalidArgumentError } from '../errors';
import { parseAddress, type Bytes } from './address';

/**
 * The allow-list (AllowedClients): compiling its entries and the check the connection-request
 * stage and the `allowedClients()` operator both apply. Pure: no sockets, no DNS (the host names
 * are looked up by `host-lookup.ts`, which hands the addresses in).
 *
 * An allow-list entry is one of:
 * - `*`: every address;
 * - an IPv4 address, with `*` standing for any whole octet (`192.168.1.*`, `10.*.*.1`);
 * - an IPv6 address in any RFC 4291 text form (`::1`, `fe80::1%eth0`, `::ffff:10.0.0.1`);
 * - a CIDR block, IPv4 (`10.0.0.0/8`) or IPv6 (`fd00::/8`);
 * - where the caller allows them, a host name (`localhost`, `proxy.internal`), which allows the
 *   addresses it was last resolved to (none until it has been).
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are compared as the IPv4 address they carry, on
 * both sides.
 *
 * Not `net.BlockList`, deliberately: it answers the same (`spec/transport/allow-list.spec.ts`
 * checks this), but each `check()` builds a native address and scans every rule: 1.4-5 µs with
 * 1 or 10 entries, 7-12 µs with 1000 (measured on 2 loaded cores), where this index takes 30-150
 * ns for an IPv4 client with any number of entries (IPv6 text costs what `parseIPv6()` costs,
 * 1.2-2 µs); and it would bring `node:net` into pure code.
 */

/** The part of a connection request that the allow-list reads and acts on. */
export interface RefusableRequest {
  readonly remoteAddress: string;
  refuse(reason: ConnectionRefusedError): void;
}

/** A compiled allow-list: true when the address may connect. */
export type AddressMatcher = (address: string) => boolean;

/**
 * Compiles allow-list entries of addresses, wildcards and CIDR blocks (no host names) into one
 * matcher. An empty list allows everyone.
 * @throws {Error} with a sentence naming the first invalid entry; callers wrap it in their
 *   own typed error.
 */
export function compileAllowList(entries: readonly string[]): AddressMatcher {
  const list = AllowList.compile(entries, false);
  if (list.allowsAll) return () => true;
  return (address) => list.matches(address);
}

/**
 * A compiled allow-list with the addresses its host names resolve to now. Matching costs one
 * set lookup per distinct mask (IPv4) or prefix length (IPv6) among the entries, however many
 * entries there are.
 */
export class AllowList {
  /** The addresses each host name resolves to now (no key: not resolved yet). */
  private readonly resolved = new Map<string, readonly string[]>();
  /** The resolved addresses of every host name, indexed. */
  private resolvedIndex = new AddressIndex();

  private constructor(
    /** The entries other than host names, indexed. */
    private readonly fixed: AddressIndex,
    /** The host names among the entries, in order, without repeats (none when `allowsAll`). */
    readonly hosts: readonly string[],
    /** True for an empty list or one with `*`: every address is allowed, none is read. */
    readonly allowsAll: boolean,
  ) {}

  /**
   * Compiles the entries; host names are entries only when `hostNames` is true.
   * @throws {Error} with a sentence naming the first invalid entry.
   */
  static compile(entries: readonly string[], hostNames = true): AllowList {
    const fixed = new AddressIndex();
    const hosts = new Set<string>();
    let all = entries.length === 0;
    for (const raw of entries) {
      const rule = parseEntry(raw, hostNames);
      if (rule === ALL) all = true;
      else if (typeof rule === 'string') hosts.add(rule);
      else fixed.add(rule);
    }
    return new AllowList(fixed, all ? [] : [...hosts], all);
  }

  /** The same entries, with no host name resolved yet. */
  fresh(): AllowList {
    return new AllowList(this.fixed, this.hosts, this.allowsAll);
  }

  /** True when `address` (IPv4 or IPv6 text) is on the list. */
  matches(address: string): boolean {
    if (this.allowsAll) return true;
    let v4 = ipv4Number(address);
    // How a dual-stack socket shows an IPv4 client: read without the IPv6 parser.
    if (v4 === -1 && MAPPED_PREFIX.test(address)) v4 = ipv4Number(address.slice(7));
    if (v4 === -1) {
      if (!address.includes(':')) return false;
      const bytes = parseAddress(address);
      if (!bytes) return false;
      if (bytes.length === 16) return this.fixed.has6(bytes) || this.resolvedIndex.has6(bytes);
      v4 = toNumber(bytes);
    }
    return this.fixed.has4(v4) || this.resolvedIndex.has4(v4);
  }

  /** The addresses `host` resolves to now; undefined until it has been resolved. */
  addressesOf(host: string): readonly string[] | undefined {
    return this.resolved.get(host);
  }

  /**
   * Sets the addresses `host` resolves to (replacing the previous ones).
   * @returns whether they differ from the previous ones (in any order).
   * @throws {Error} when `addresses` holds no IP address: the previous ones stay.
   */
  setAddresses(host: string, addresses: readonly string[]): boolean {
    const valid = [...new Set(addresses.filter((a) => parseAddress(a) !== null))];
    if (valid.length === 0) throw new Error(`"${host}" resolved to no IP address`);
    const previous = this.resolved.get(host);
    const changed =
      previous === undefined ||
      previous.length !== valid.length ||
      valid.some((a) => !previous.includes(a));
    this.resolved.set(host, Object.freeze(valid));
    if (changed) {
      const index = new AddressIndex();
      for (const list of this.resolved.values()) {
        for (const a of list) index.add(exactRule(parseAddress(a)!));
      }
      this.resolvedIndex = index;
    }
    return changed;
  }
}

/** One compiled entry other than a host name. */
type Rule =
  { readonly v4: number; readonly mask: number } | { readonly v6: Bytes; readonly prefix: number };

const ALL = Symbol('all');
const MAPPED_PREFIX = /^::ffff:/i;

/** A 32-bit mask of `bits` leading ones (`<< 32` is `<< 0` in JavaScript). */
const prefixMask = (bits: number): number => (bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);

function exactRule(bytes: Bytes): Rule {
  return bytes.length === 4
    ? { v4: toNumber(bytes), mask: 0xffffffff }
    : { v6: bytes, prefix: 128 };
}

function toNumber(bytes: Bytes): number {
  return ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
}

/** One label of a host name (RFC 1123 section 2.1), `_` allowed as in container service names. */
const LABEL = '[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?';
/** A host name: labels, at most 253 characters, maybe a final dot; see `parseEntry()`. */
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

function parseEntry(raw: string, hostNames: boolean): Rule | string | typeof ALL {
  const entry = raw.trim();
  if (entry === '*') return ALL;

  const slash = entry.indexOf('/');
  if (slash !== -1) {
    const base = parseAddress(entry.slice(0, slash));
    const prefixText = entry.slice(slash + 1);
    const isV6Text = entry.slice(0, slash).includes(':');
    const bits = isV6Text ? 128 : 32;
    if (!base || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) {
      throw new Error(`"${raw}" is not a valid CIDR block`);
    }
    // A mapped IPv6 block (`::ffff:10.0.0.0/104`) was turned into IPv4 bytes: shift its prefix.
    const prefix = Number(prefixText) - (base.length === 4 && isV6Text ? 96 : 0);
    if (prefix < 0) throw new Error(`"${raw}" is not a valid CIDR block`);
    if (base.length === 16) return { v6: base, prefix };
    const mask = prefixMask(prefix);
    return { v4: (toNumber(base) & mask) >>> 0, mask };
  }

  if (entry.includes('*')) {
    // A wildcard is a mask of whole octets: `192.168.1.*` is 192.168.1.0/24, `10.*.*.1` has none.
    const parts = entry.split('.');
    if (parts.length !== 4) {
      throw new Error(`"${raw}" is not a valid IPv4 wildcard (use "*" for whole octets)`);
    }
    let v4 = 0;
    let mask = 0;
    for (const part of parts) {
      const octet = part === '*' ? 0 : ipv4Number(`${part}.0.0.0`);
      if (octet === -1) {
        throw new Error(`"${raw}" is not a valid IPv4 wildcard (use "*" for whole octets)`);
      }
      v4 = v4 * 256 + octet / 2 ** 24;
      mask = mask * 256 + (part === '*' ? 0 : 0xff);
    }
    return { v4, mask };
  }

  const exact = parseAddress(entry);
  if (exact) return exactRule(exact);
  // RFC 3696 section 2: a top-level label is never all digits, so `10.0.0.300` is a mistyped
  // address, not a host name, and is reported as one.
  const looksLikeAddress = entry.includes(':') || /^[\d.]+$/.test(entry);
  if (hostNames && !looksLikeAddress && HOST_NAME.test(entry) && !/(^|\.)\d+\.?$/.test(entry)) {
    return entry;
  }
  throw new Error(
    hostNames && !looksLikeAddress
      ? `"${raw}" is not an IP address, wildcard, CIDR block or host name`
      : `"${raw}" is not an IP address, wildcard or CIDR block`,
  );
}

/** Entries by mask (IPv4) or prefix length (IPv6), each with the set of values it allows. */
class AddressIndex {
  private readonly masks: number[] = [];
  private readonly v4: Set<number>[] = [];
  private readonly prefixes: number[] = [];
  private readonly v6: Set<string>[] = [];

  add(rule: Rule): void {
    if ('v4' in rule) {
      let i = this.masks.indexOf(rule.mask);
      if (i === -1) i = this.masks.push(rule.mask) - 1;
      (this.v4[i] ??= new Set()).add(rule.v4);
    } else {
      let i = this.prefixes.indexOf(rule.prefix);
      if (i === -1) i = this.prefixes.push(rule.prefix) - 1;
      (this.v6[i] ??= new Set()).add(v6Key(rule.v6, rule.prefix));
    }
  }

  has4(address: number): boolean {
    for (let i = 0; i < this.masks.length; i++) {
      if (this.v4[i].has((address & this.masks[i]) >>> 0)) return true;
    }
    return false;
  }

  has6(bytes: Bytes): boolean {
    for (let i = 0; i < this.prefixes.length; i++) {
      if (this.v6[i].has(v6Key(bytes, this.prefixes[i]))) return true;
    }
    return false;
  }
}

/** The first `prefix` bits of an IPv6 address, as a string to look up. */
function v6Key(bytes: Bytes, prefix: number): string {
  const whole = prefix >> 3;
  let key = '';
  for (let i = 0; i < whole; i++) key += String.fromCharCode(bytes[i]);
  const rest = prefix & 7;
  if (rest !== 0) key += String.fromCharCode(bytes[whole] & (0xff << (8 - rest)) & 0xff);
  return key;
}

/**
 * Dotted-quad IPv4 text as a 32-bit number, or -1; the rules of `parseIPv4()` (each part 0-255,
 * no leading zeros) without its allocations: this runs for every accepted socket.
 */
function ipv4Number(text: string): number {
  const length = text.length;
  if (length < 7 || length > 15) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 0x30);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/**
 * The allow-list of `list`: an `AllowList` as it is; entries (a string is split on commas)
 * compiled, host names included.
 * @throws {InvalidArgumentError} at once, naming the first entry that is not valid.
 */
export function allowListOf(list: AllowList | readonly string[] | string = []): AllowList {
  if (list instanceof AllowList) return list;
  try {
    return AllowList.compile(typeof list === 'string' ? splitList(list) : list);
  } catch (err) {
    throw new InvalidArgumentError(`allowedClients: ${(err as Error).message}`);
  }
}

/**
 * The check behind `allowedClients()`: true for a request whose remote address is on the list;
 * a request off it gets false and, when it has a `refuse()` method, is refused
 * (`ERR_NOT_ALLOWED`). A list that allows everyone answers true without reading the address.
 * @throws {InvalidArgumentError} at once, naming the first entry that is not valid.
 */
export function allowListCheck<T extends { readonly remoteAddress: string }>(
  list: AllowList | readonly string[] | string = [],
): (request: T) => boolean {
  const allowList = allowListOf(list);
  if (allowList.allowsAll) return () => true;
  return (request) => {
    const address = request.remoteAddress;
    if (allowList.matches(address)) return true;
    const refusable = request as Partial<RefusableRequest>;
    if (typeof refusable.refuse === 'function') {
      refusable.refuse(
        new ConnectionRefusedError('ERR_NOT_ALLOWED', `${address} is not in allowedClients`),
      );
    }
    return false;
  };
}

/** Splits IPWorks' comma-separated AllowedClients text into entries. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
