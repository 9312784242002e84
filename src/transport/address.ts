/**
 * IP address parsing and allow-list matching. Pure: no sockets, no DNS.
 *
 * An allow-list entry is one of:
 * - `*`: every address;
 * - an IPv4 address, with `*` standing for any whole octet (`192.168.1.*`, `10.*.*.1`);
 * - an IPv6 address in any RFC 4291 text form (`::1`, `fe80::1%eth0`, `::ffff:10.0.0.1`);
 * - a CIDR block, IPv4 (`10.0.0.0/8`) or IPv6 (`fd00::/8`).
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`), as Node reports IPv4 clients of a dual-stack
 * socket, are compared as the IPv4 address they carry, on both sides.
 */

/** A parsed address: 4 bytes for IPv4, 16 for IPv6. */
type Bytes = readonly number[];

/** Parses dotted-quad IPv4 text (`a.b.c.d`, each 0–255, no leading zeros). */
export function parseIPv4(text: string): Bytes | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

/** Parses IPv6 text, with `::` compression, a trailing dotted quad and a `%zone` suffix. */
export function parseIPv6(text: string): Bytes | null {
  const zone = text.indexOf('%');
  const body = zone === -1 ? text : text.slice(0, zone);
  if (body.length === 0 || !/^[0-9a-fA-F:.]+$/.test(body)) return null;

  const halves = body.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] === '' ? [] : halves[0].split(':');
  const tail = halves.length === 2 && halves[1] !== '' ? halves[1].split(':') : [];

  const groups: number[] = [];
  const pushGroups = (parts: string[], isLastPart: boolean): boolean => {
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      if (isLastPart && i === parts.length - 1 && part.includes('.')) {
        const v4 = parseIPv4(part);
        if (!v4) return false;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(part)) return false;
        groups.push(parseInt(part, 16));
      }
    }
    return true;
  };

  if (!pushGroups(head, tail.length === 0 && halves.length === 1)) return null;
  const headCount = groups.length;
  if (!pushGroups(tail, true)) return null;
  const tailGroups = groups.splice(headCount);

  if (halves.length === 2) {
    const missing = 8 - headCount - tailGroups.length;
    if (missing < 1) return null;
    for (let i = 0; i < missing; i++) groups.push(0);
  }
  groups.push(...tailGroups);
  if (groups.length !== 8) return null;

  const bytes: number[] = [];
  for (const g of groups) bytes.push(g >> 8, g & 0xff);
  return bytes;
}

/** Bytes of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as IPv4, or the input. */
function unmap(bytes: Bytes): Bytes {
  if (bytes.length !== 16) return bytes;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return bytes;
  if (bytes[10] !== 0xff || bytes[11] !== 0xff) return bytes;
  return bytes.slice(12);
}

/** Parses an IPv4 or IPv6 address, turning IPv4-mapped IPv6 into IPv4. */
export function parseAddress(text: string): Bytes | null {
  const bytes = parseIPv4(text) ?? parseIPv6(text);
  return bytes && unmap(bytes);
}

/**
 * The address as a user reads it: IPv4-mapped IPv6 (`::ffff:127.0.0.1`) shown as IPv4
 * (`127.0.0.1`); anything else unchanged.
 */
export function displayAddress(text: string): string {
  if (!text.includes(':') || !text.includes('.')) return text;
  const bytes = parseIPv6(text);
  if (!bytes) return text;
  const v4 = unmap(bytes);
  return v4.length === 4 ? v4.join('.') : text;
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
