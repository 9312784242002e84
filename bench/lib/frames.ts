/** Frame building for the load client: pre-built, pre-masked, so sending costs one write. */

/** Header length of an unmasked (server) frame with this payload length. */
export function serverHeaderLength(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
}

/** Bytes of one server frame (unmasked) with this payload length: what a reply costs. */
export function serverFrameLength(payloadLength: number): number {
  return serverHeaderLength(payloadLength) + payloadLength;
}

/** One masked client frame. The fixed mask key is fine for load: servers do not check it. */
export function maskedFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const ext = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const frame = Buffer.alloc(2 + ext + 4 + len);
  frame[0] = 0x80 | opcode;
  frame[1] = 0x80 | (ext === 0 ? len : ext === 2 ? 126 : 127);
  if (ext === 2) frame.writeUInt16BE(len, 2);
  if (ext === 8) frame.writeBigUInt64BE(BigInt(len), 2);
  const key = [0x12, 0x34, 0x56, 0x78];
  const at = 2 + ext;
  for (let i = 0; i < 4; i++) frame[at + i] = key[i];
  for (let i = 0; i < len; i++) frame[at + 4 + i] = payload[i] ^ key[i & 3];
  return frame;
}

/** One unmasked frame, as a server sends it. */
export function serverFrame(opcode: number, payload: Buffer): Buffer {
  const len = payload.length;
  const h = serverHeaderLength(len);
  const frame = Buffer.alloc(h + len);
  frame[0] = 0x80 | opcode;
  frame[1] = h === 2 ? len : h === 4 ? 126 : 127;
  if (h === 4) frame.writeUInt16BE(len, 2);
  if (h === 10) frame.writeBigUInt64BE(BigInt(len), 2);
  payload.copy(frame, h);
  return frame;
}

/** The offer a browser makes (Chrome, Firefox): permessage-deflate, any client window. */
export const DEFLATE_OFFER = 'permessage-deflate; client_max_window_bits';

/** The text of an opening handshake request; with `extensions`, it offers them. */
export function upgradeRequest(port: number, path = '/', extensions?: string): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
    (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') +
    '\r\n'
  );
}

/**
 * Counts the whole messages in a stream of server frames (unmasked) without keeping them: one
 * per frame with FIN, whatever its length (a compressed message's length is the server's).
 */
export class MessageCounter {
  /** Bytes of a header split across reads. */
  private head = Buffer.alloc(0);
  /** Payload bytes of the current frame still to skip. */
  private skip = 0;
  private fin = false;
  /** Whole messages, those whose first frame had RSV1 (compressed), and bytes seen. */
  messages = 0;
  compressed = 0;
  bytes = 0;
  private first = true;

  /** Reads a chunk; returns how many messages ended in it. */
  push(chunk: Buffer): number {
    this.bytes += chunk.length;
    let ended = 0;
    let at = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        if (this.skip === 0 && this.fin) ended += this.end();
        continue;
      }
      const need = (buf: Buffer): number => {
        if (buf.length < 2) return 2;
        const len = buf[1] & 0x7f;
        return len < 126 ? 2 : len === 126 ? 4 : 10;
      };
      let head = this.head.length
        ? Buffer.concat([this.head, chunk.subarray(at, at + 10)])
        : chunk.subarray(at, at + 10);
      const want = need(head);
      if (head.length < want) {
        this.head = Buffer.from(head);
        return ended;
      }
      head = head.subarray(0, want);
      at += want - this.head.length;
      this.head = Buffer.alloc(0);
      const len7 = head[1] & 0x7f;
      const length =
        len7 < 126 ? len7 : len7 === 126 ? head.readUInt16BE(2) : Number(head.readBigUInt64BE(2));
      const opcode = head[0] & 0x0f;
      if (opcode < 0x8) {
        if (this.first && (head[0] & 0x40) !== 0) this.compressed++;
        this.first = false;
        this.fin = (head[0] & 0x80) !== 0;
      } else {
        this.fin = false;
      }
      this.skip = length;
      if (length === 0 && this.fin) ended += this.end();
    }
    return ended;
  }

  private end(): number {
    this.fin = false;
    this.first = true;
    this.messages++;
    return 1;
  }
}

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
