import { randomBytes } from 'node:crypto';

/** WebSocket opcodes (RFC 6455 section 5.2). */
export const Op = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

/** Builds one frame by hand, masked as a client must (unless `mask: false`). */
export function frame(
  opcode: number,
  payload: Buffer | string = Buffer.alloc(0),
  { fin = true, mask = true, rsv = 0 }: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const len = data.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const header = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  header[1] = (mask ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) header.writeUInt16BE(len, 2);
  if (lenBytes === 8) header.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([header, data]);
  const key = randomBytes(4);
  key.copy(header, 2 + lenBytes);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([header, masked]);
}

/** A close frame's payload: the code, then the reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

/** A frame the server sent, as parsed from the bytes. */
export interface ParsedFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Parses the unmasked frames a server sends; returns the frames and the unparsed rest. */
export function parseFrames(buffer: Buffer): { frames: ParsedFrame[]; rest: Buffer } {
  const frames: ParsedFrame[] = [];
  let offset = 0;
  while (buffer.length - offset >= 2) {
    const b0 = buffer[offset];
    const b1 = buffer[offset + 1];
    let len = b1 & 0x7f;
    let pos = offset + 2;
    if (len === 126) {
      if (buffer.length < pos + 2) break;
      len = buffer.readUInt16BE(pos);
      pos += 2;
    } else if (len === 127) {
      if (buffer.length < pos + 8) break;
      len = Number(buffer.readBigUInt64BE(pos));
      pos += 8;
    }
    if (buffer.length < pos + len) break;
    frames.push({
      fin: (b0 & 0x80) !== 0,
      opcode: b0 & 0x0f,
      payload: buffer.subarray(pos, pos + len),
    });
    offset = pos + len;
  }
  return { frames, rest: buffer.subarray(offset) };
}

/**
 * Parses frames from a stream of chunks in linear time (each frame is joined once), so a test
 * can read megabytes without quadratic copying.
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  readonly frames: ParsedFrame[] = [];

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.buffered < 2) return;
      const head = this.peek(Math.min(this.buffered, 10));
      let len = head[1] & 0x7f;
      let headerLength = 2;
      if (len === 126) {
        if (head.length < 4) return;
        len = head.readUInt16BE(2);
        headerLength = 4;
      } else if (len === 127) {
        if (head.length < 10) return;
        len = Number(head.readBigUInt64BE(2));
        headerLength = 10;
      }
      if (this.buffered < headerLength + len) return;
      const whole = this.take(headerLength + len);
      this.frames.push({
        fin: (whole[0] & 0x80) !== 0,
        opcode: whole[0] & 0x0f,
        payload: whole.subarray(headerLength),
      });
    }
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    return Buffer.concat(this.chunks).subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return all.subarray(0, n);
  }
}
