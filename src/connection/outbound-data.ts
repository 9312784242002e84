import { InvalidArgumentError, show } from '../errors';

/** How a message's payload is meant: UTF-8 text or bytes. */
export type MessageFormat = 'text' | 'binary';

/** Bytes to send as a binary message. */
export type BinaryData = Buffer | Uint8Array | ArrayBuffer;

/** What `sink.next()` and `send()` take: a string is text, bytes are binary; or say which. */
export type OutboundData =
  string | BinaryData | { readonly data: string | BinaryData; readonly format: MessageFormat };

/** Options of one send. */
export interface SendOptions {
  /** Frame type; default: text for a string, binary for bytes. */
  format?: MessageFormat;
}

/**
 * Turns what a user sends into a payload and whether it is binary: a string stays a string
 * (encoded once, into the frame), bytes become a Buffer without a copy. Pure.
 * @throws {InvalidArgumentError} for a value that cannot be sent or a bad format.
 */
export function normalize(
  data: OutboundData,
  format: MessageFormat | undefined,
): [Buffer | string, boolean] {
  if (typeof data === 'string') {
    return format === 'binary' ? [Buffer.from(data), true] : [data, false];
  }
  if (Buffer.isBuffer(data)) return [data, format !== 'text'];
  if (data instanceof Uint8Array) {
    return [Buffer.from(data.buffer, data.byteOffset, data.byteLength), format !== 'text'];
  }
  if (data instanceof ArrayBuffer) return [Buffer.from(data), format !== 'text'];
  if (data !== null && typeof data === 'object' && 'data' in data) {
    if (data.format !== 'text' && data.format !== 'binary') {
      throw new InvalidArgumentError(`format must be "text" or "binary", got ${show(data.format)}`);
    }
    return normalize(data.data, data.format);
  }
  throw new InvalidArgumentError(
    `cannot send ${show(data)}: expected a string, Buffer, Uint8Array or ArrayBuffer`,
  );
}
