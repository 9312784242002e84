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

/** The text of an opening handshake request. */
export function upgradeRequest(port: number, path = '/'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
  );
}

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
