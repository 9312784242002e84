/** The public vocabulary of streamed sends (`sendStream()`, `sendFile()`): no `ws` types here. */
import type { Readable } from 'node:stream';
import type { Observable } from 'rxjs';
import type { MessageFormat } from './outbound-data';

/** What `sendStream()` reads a message's content from. */
export type StreamSource =
  Observable<Uint8Array | string> | AsyncIterable<Uint8Array | string> | Readable;

/** Progress of a streamed send. */
export interface SendProgress {
  /** Payload bytes handed to the socket so far. */
  readonly bytesSent: number;
  /** The declared total (`length`, or the file's size), when known. */
  readonly totalBytes?: number;
}

/** Options of `sendStream()`. */
export interface StreamSendOptions {
  /** `'binary'` (default) or `'text'`. */
  format?: MessageFormat;
  /** The declared total in bytes (IPWorks' MessageLength); a source that differs is an error. */
  length?: number;
}

/** Options of `sendFile()`. */
export interface FileSendOptions {
  /** `'binary'` (default) or `'text'`. */
  format?: MessageFormat;
  /** Bytes read (and sent as one fragment) at a time. Default 65536. */
  chunkSize?: number;
}
