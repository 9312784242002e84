import {
  STATUS_CODES,
  validateHeaderName,
  validateHeaderValue,
  type OutgoingHttpHeaders,
} from 'node:http';
import type { Duplex } from 'node:stream';

/** Headers rxws writes itself on an error response; the user's values for them are left out. */
const ERROR_RESPONSE_HEADERS = new Set(['connection', 'content-type', 'content-length']);

/** Headers of the 101 response that belong to the handshake; the user's values are left out. */
export const HANDSHAKE_HEADERS = new Set([
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
]);

/**
 * `Name: value` lines for raw HTTP, one per value, leaving out the `reserved` names.
 * @throws {TypeError} when a name or value is not valid HTTP (so no CR/LF can be injected).
 */
export function headerLines(headers: OutgoingHttpHeaders, reserved: ReadonlySet<string>): string[] {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    validateHeaderName(name);
    if (reserved.has(name.toLowerCase())) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      validateHeaderValue(name, String(v));
      lines.push(`${name}: ${String(v)}`);
    }
  }
  return lines;
}

/**
 * Builds a complete HTTP/1.1 error response with a text body and `Connection: close`.
 * @throws {TypeError} when a header name or value is not valid HTTP.
 */
export function buildHttpResponse(
  status: number,
  body: string,
  headers: OutgoingHttpHeaders = {},
): string {
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}`,
    ...headerLines(headers, ERROR_RESPONSE_HEADERS),
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
  ];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Writes a response, then closes the socket once it is flushed. */
export function writeHttpResponseAndClose(socket: Duplex, response: string): void {
  if (socket.destroyed) return;
  if (socket.writable) {
    socket.end(response);
    socket.once('finish', () => socket.destroy());
  } else {
    socket.destroy();
  }
}
