/**
 * IP address parsing and display. Pure: no sockets, no DNS.
 *
 * IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`), as Node reports IPv4 clients of a dual-stack
 * socket, are turned into the IPv4 address they carry.
 */

/** A parsed address: 4 bytes for IPv4, 16 for IPv6. */
export type Bytes = readonly number[];

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
