/**
 * How a publication travels through Redis: one binary value holding the numbering (see
 * `../sequence.ts`) and the payload. Pure.
 *
 * ```text
 * byte 0      version (1)
 * byte 1      flags: 1 binary payload, 2 mark (no payload: "my last number is seq")
 * bytes 2-9   seq, a float64 (big-endian): exact up to 2^53
 * byte 10     n, the length of the publisher's name in bytes; then the name (UTF-8)
 * 1 byte      m, the length of the epoch; then the epoch (UTF-8)
 * the rest    the payload (text as UTF-8)
 * ```
 */

const VERSION = 1;
const BINARY = 1;
const MARK = 2;

/** A decoded envelope. */
export interface Envelope {
  readonly publisher: string;
  readonly epoch: string;
  readonly seq: number;
  /** A mark carries no payload: its sender's last number on the topic is `seq`. */
  readonly mark: boolean;
  readonly binary: boolean;
  readonly payload: Buffer;
}

/** The header of one publisher's envelopes, encoded once: its name and epoch. */
export function senderHeader(publisher: string, epoch: string): Buffer {
  const name = Buffer.from(publisher);
  const era = Buffer.from(epoch);
  if (name.length > 255 || era.length > 255) {
    throw new RangeError('publisher and epoch must be at most 255 bytes each');
  }
  const out = Buffer.allocUnsafe(2 + name.length + era.length);
  out[0] = name.length;
  name.copy(out, 1);
  out[1 + name.length] = era.length;
  era.copy(out, 2 + name.length);
  return out;
}

/** Encodes one message (or a mark, with no payload) behind its sender's header. */
export function encodeEnvelope(
  sender: Buffer,
  seq: number,
  payload: Buffer | string | undefined,
  binary: boolean,
): Buffer {
  const bytes =
    payload === undefined
      ? 0
      : typeof payload === 'string'
        ? Buffer.byteLength(payload)
        : payload.length;
  const out = Buffer.allocUnsafe(10 + sender.length + bytes);
  out[0] = VERSION;
  out[1] = (binary ? BINARY : 0) | (payload === undefined ? MARK : 0);
  out.writeDoubleBE(seq, 2);
  sender.copy(out, 10);
  if (typeof payload === 'string') out.write(payload, 10 + sender.length);
  else if (payload) payload.copy(out, 10 + sender.length);
  return out;
}

/** Decodes an envelope; undefined for bytes that are not one (another writer on the channel). */
export function decodeEnvelope(data: Buffer): Envelope | undefined {
  if (data.length < 12 || data[0] !== VERSION) return undefined;
  const flags = data[1];
  const seq = data.readDoubleBE(2);
  const nameEnd = 11 + data[10];
  if (nameEnd >= data.length || !Number.isSafeInteger(seq) || seq < 1) return undefined;
  const epochEnd = nameEnd + 1 + data[nameEnd];
  if (epochEnd > data.length) return undefined;
  return {
    publisher: data.toString('utf8', 11, nameEnd),
    epoch: data.toString('utf8', nameEnd + 1, epochEnd),
    seq,
    mark: (flags & MARK) !== 0,
    binary: (flags & BINARY) !== 0,
    payload: data.subarray(epochEnd),
  };
}
