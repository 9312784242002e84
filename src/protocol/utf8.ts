/**
 * UTF-8 at piece boundaries (RFC 3629): where a character is cut at the end of a piece, and
 * whether cut bytes can still begin a valid character. Pure.
 */

/**
 * How many bytes at the end of `buf` are the start of a character not complete yet (0–3).
 * Three trailing continuation bytes are left to `isUtf8` to judge.
 */
export function incompleteTail(buf: Buffer): number {
  const n = buf.length;
  for (let i = 1; i <= 3 && i <= n; i++) {
    const b = buf[n - i];
    if ((b & 0xc0) === 0x80) continue;
    const length = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return length > i ? i : 0;
  }
  return 0;
}

/** True when `bytes` (1–3) can begin a valid UTF-8 character (RFC 3629's table). */
export function isCharacterStart(bytes: Buffer): boolean {
  const lead = bytes[0];
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) return bytes.length < 2;
  if (lead === 0xe0) low = 0xa0;
  else if (lead === 0xed) high = 0x9f;
  else if (lead === 0xf0) low = 0x90;
  else if (lead === 0xf4) high = 0x8f;
  else if (!((lead >= 0xe1 && lead <= 0xef) || (lead >= 0xf1 && lead <= 0xf3))) return false;
  if (bytes.length > 1 && (bytes[1] < low || bytes[1] > high)) return false;
  if (bytes.length > 2 && (bytes[2] & 0xc0) !== 0x80) return false;
  return bytes.length < (lead >= 0xf0 ? 4 : 3);
}
