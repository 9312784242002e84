/**
 * Unmasking of client frames (RFC 6455 section 5.3), from any offset into the mask's cycle, so a
 * frame can be unmasked piece by piece as it arrives. Uses the native `bufferutil` addon, as `ws`
 * does, when it is installed.
 */

type NativeUnmask = (buffer: Buffer, mask: Buffer) => void;

// The same native masking ws uses when the optional `bufferutil` addon is installed (and not
// disabled with WS_NO_BUFFER_UTIL, as ws honours it).
const nativeUnmask: NativeUnmask | undefined = (() => {
  if (process.env.WS_NO_BUFFER_UTIL) return undefined;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional addon, loaded if present
    return (require('bufferutil') as { unmask: NativeUnmask }).unmask;
  } catch {
    return undefined;
  }
})();

/** XORs `data` with `mask`, starting `offset` bytes into the mask's cycle. */
export function unmask(data: Buffer, mask: Buffer, offset: number): void {
  if ((mask[0] | mask[1] | mask[2] | mask[3]) === 0) return;
  const shift = offset & 3;
  const key =
    shift === 0
      ? mask
      : Buffer.from([
          mask[shift],
          mask[(shift + 1) & 3],
          mask[(shift + 2) & 3],
          mask[(shift + 3) & 3],
        ]);
  const n = data.length;
  if (nativeUnmask && n >= 32) {
    nativeUnmask(data, key);
    return;
  }
  let i = 0;
  // Bytes until the view is 4-byte aligned, then a word at a time, then the rest.
  while (i < n && ((data.byteOffset + i) & 3) !== 0) {
    data[i] ^= key[i & 3];
    i++;
  }
  const words = (n - i) >>> 2;
  if (words > 0) {
    const view = new Uint32Array(data.buffer, data.byteOffset + i, words);
    const k = new Uint32Array(
      Uint8Array.of(key[i & 3], key[(i + 1) & 3], key[(i + 2) & 3], key[(i + 3) & 3]).buffer,
    )[0];
    for (let w = 0; w < words; w++) view[w] ^= k;
    i += words << 2;
  }
  for (; i < n; i++) data[i] ^= key[i & 3];
}
