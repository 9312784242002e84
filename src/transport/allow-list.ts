import { ConnectionRefusedError, InvalidArgumentError } from '../errors';
import { parseAddress, parseIPv4, type Bytes } from './address';

/**
 * The allow-list (AllowedClients): compiling its entries and the check the connection-request
 * stage and the `allowedClients()` operator both apply. Pure: no sockets, no DNS.
 *
 * An allow-list entry is one of:
 * - `*`: every address;
 * - an IPv4 address, with `*` standing for any whole octet (`192.168.1.*`, `10.*.*.1`);
 * - an IPv6 address in any RFC 4291 text form (`::1`, `fe80::1%eth0`, `::ffff:10.0.0.1`);
 * - a CIDR block, IPv4 (`10.0.0.0/8`) or IPv6 (`fd00::/8`).
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are compared as the IPv4 address they carry, on
 * both sides.
 */

/** The part of a connection request that the allow-list reads and acts on. */
export interface RefusableRequest {
  readonly remoteAddress: string;
  refuse(reason: ConnectionRefusedError): void;
}

/** A compiled allow-list: true when the address may connect. */
export type AddressMatcher = (address: string) => boolean;

/**
 * Compiles allow-list entries into one matcher. An empty list allows everyone.
 * @throws {Error} with a sentence naming the first invalid entry; callers wrap it in their
 *   own typed error.
 */
export function compileAllowList(entries: readonly string[]): AddressMatcher {
  if (entries.length === 0) return () => true;
  const tests = entries.map(compileEntry);
  if (tests.some((t) => t === MATCH_ALL)) return () => true;
  return (address) => {
    const bytes = parseAddress(address);
    if (!bytes) return false;
    for (const test of tests) if (test(bytes)) return true;
    return false;
  };
}

type BytesTest = (bytes: Bytes) => boolean;
const MATCH_ALL: BytesTest = () => true;

function compileEntry(raw: string): BytesTest {
  const entry = raw.trim();
  if (entry === '*') return MATCH_ALL;

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
    return (bytes) => bytes.length === base.length && samePrefix(bytes, base, prefix);
  }

  if (entry.includes('*')) {
    const parts = entry.split('.');
    const octets = parts.map((p) => (p === '*' ? -1 : parseIPv4(`${p}.0.0.0`)?.[0]));
    if (parts.length !== 4 || octets.some((o) => o === undefined)) {
      throw new Error(`"${raw}" is not a valid IPv4 wildcard (use "*" for whole octets)`);
    }
    return (bytes) => bytes.length === 4 && octets.every((o, i) => o === -1 || bytes[i] === o);
  }

  const exact = parseAddress(entry);
  if (!exact) throw new Error(`"${raw}" is not an IP address, wildcard or CIDR block`);
  return (bytes) => bytes.length === exact.length && samePrefix(bytes, exact, exact.length * 8);
}

function samePrefix(a: Bytes, b: Bytes, bits: number): boolean {
  let i = 0;
  for (; bits >= 8; bits -= 8, i++) if (a[i] !== b[i]) return false;
  if (bits === 0) return true;
  const mask = (0xff << (8 - bits)) & 0xff;
  return (a[i] & mask) === (b[i] & mask);
}

/**
 * The check behind `allowedClients()`: true for a request on the list; a request off it is
 * refused (`ERR_NOT_ALLOWED`) and gets false. With an empty list, true without reading the address.
 * @throws {InvalidArgumentError} at once, naming the first entry that is not valid.
 */
export function allowListCheck<T extends RefusableRequest>(
  list: readonly string[] | string = [],
): (request: T) => boolean {
  const entries = typeof list === 'string' ? splitList(list) : list;
  if (entries.length === 0) return () => true;
  let isAllowed: (address: string) => boolean;
  try {
    isAllowed = compileAllowList(entries);
  } catch (err) {
    throw new InvalidArgumentError(`allowedClients: ${(err as Error).message}`);
  }
  return (request) => {
    if (isAllowed(request.remoteAddress)) return true;
    request.refuse(
      new ConnectionRefusedError(
        'ERR_NOT_ALLOWED',
        `${request.remoteAddress} is not in allowedClients`,
      ),
    );
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
