import type { MessageFormat } from '../connection/outbound-data';
import { Opcode } from '../protocol/frame';

/** What the simulated client received from the server, one item per message or control frame. */
export type ReceivedFrame =
  /** A whole data message (its fragments joined): text as a string, binary as a `Buffer`. */
  | { readonly type: 'message'; readonly data: string | Buffer; readonly format: MessageFormat }
  /** A ping (a heartbeat, or `conn.ping()`), with its payload. */
  | { readonly type: 'ping'; readonly data: Buffer }
  /** A pong: the server's answer to the client's ping. */
  | { readonly type: 'pong'; readonly data: Buffer }
  /** The server's close frame: its code (1005 when it carried none) and reason. */
  | { readonly type: 'close'; readonly code: number; readonly reason: string };

/**
 * Turns the bytes a server writes (unmasked frames, RFC 6455 section 5.2) into what a client
 * sees: whole messages and control frames, in order. Pure: bytes in, items out; a frame split
 * across writes waits for its rest.
 */
export class FrameDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  /** The fragments of the data message under way, and whether it is binary. */
  private fragments: Buffer[] = [];
  private binary = false;

  /** Takes the next bytes; returns the items they complete. */
  push(chunk: Buffer): ReceivedFrame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const items: ReceivedFrame[] = [];
    for (;;) {
      const frame = this.nextFrame();
      if (!frame) return items;
      const item = this.take(frame.fin, frame.opcode, frame.payload);
      if (item) items.push(item);
    }
  }

  private nextFrame(): { fin: boolean; opcode: number; payload: Buffer } | undefined {
    const b = this.buffered;
    if (b.length < 2) return undefined;
    let length = b[1] & 0x7f;
    let at = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = b.readUInt32BE(2) * 0x100000000 + b.readUInt32BE(6);
      at = 10;
    }
    if (b.length < at + length) return undefined;
    const payload = b.subarray(at, at + length);
    this.buffered = b.subarray(at + length);
    return { fin: (b[0] & 0x80) !== 0, opcode: b[0] & 0x0f, payload };
  }

  private take(fin: boolean, opcode: number, payload: Buffer): ReceivedFrame | undefined {
    switch (opcode) {
      case Opcode.PING:
        return { type: 'ping', data: Buffer.from(payload) };
      case Opcode.PONG:
        return { type: 'pong', data: Buffer.from(payload) };
      case Opcode.CLOSE:
        return payload.length >= 2
          ? { type: 'close', code: payload.readUInt16BE(0), reason: payload.toString('utf8', 2) }
          : { type: 'close', code: 1005, reason: '' };
      default: {
        // A text or binary frame starts a message; a continuation goes on with it.
        if (opcode !== Opcode.CONTINUATION) {
          this.binary = opcode === Opcode.BINARY;
          this.fragments = [];
        }
        this.fragments.push(Buffer.from(payload));
        if (!fin) return undefined;
        const data = Buffer.concat(this.fragments);
        this.fragments = [];
        return this.binary
          ? { type: 'message', data, format: 'binary' }
          : { type: 'message', data: data.toString('utf8'), format: 'text' };
      }
    }
  }
}
