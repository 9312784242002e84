/**
 * Encoding of unmasked server frames (RFC 6455 section 5.2). Pure: bytes in, bytes out.
 */

/** Frame opcodes (RFC 6455 section 5.2). */
export const Opcode = Object.freeze({
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
});

/** Payloads up to this size are copied behind their header into one buffer: one write. */
export const COPY_LIMIT = 16 * 1024;

/** Length of the header of an unmasked frame carrying `payloadLength` bytes. */
export function headerLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
}

/** Writes a frame header into `target` at offset 0; returns its length. */
export function writeHeader(
  target: Buffer,
  opcode: number,
  payloadLength: number,
  fin: boolean,
): number {
  target[0] = (fin ? 0x80 : 0) | opcode;
  if (payloadLength < 126) {
    target[1] = payloadLength;
    return 2;
  }
  if (payloadLength < 65536) {
    target[1] = 126;
    target.writeUInt16BE(payloadLength, 2);
    return 4;
  }
  target[1] = 127;
  // Payloads over 2^53 bytes cannot exist in Node; the high 32 bits come from a float division.
  target.writeUInt32BE(Math.floor(payloadLength / 0x100000000), 2);
  target.writeUInt32BE(payloadLength >>> 0, 6);
  return 10;
}

/**
 * Encodes one frame. Text is encoded straight into the frame buffer; a payload up to
 * `COPY_LIMIT` bytes is copied behind its header, so the frame is one buffer; a larger one comes
 * back as `[header, payload]`, not copied. `byteLength`, when the caller has measured a string
 * already, saves measuring it again.
 */
export function encodeFrame(
  opcode: number,
  payload: string | Buffer,
  fin = true,
  byteLength?: number,
): Buffer | [Buffer, Buffer] {
  if (typeof payload === 'string') {
    const length = byteLength ?? Buffer.byteLength(payload);
    const frame = Buffer.allocUnsafe(headerLength(length) + length);
    const at = writeHeader(frame, opcode, length, fin);
    frame.write(payload, at, 'utf8');
    return frame;
  }
  const length = payload.length;
  if (length <= COPY_LIMIT) {
    const frame = Buffer.allocUnsafe(headerLength(length) + length);
    payload.copy(frame, writeHeader(frame, opcode, length, fin));
    return frame;
  }
  const header = Buffer.allocUnsafe(headerLength(length));
  writeHeader(header, opcode, length, fin);
  return [header, payload];
}
