import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** A request that is a valid WebSocket upgrade, with what the client offers. */
export interface ValidUpgrade {
  readonly ok: true;
  readonly subprotocols: readonly string[];
  readonly extensions: readonly string[];
}

/** A request that is not: the HTTP answer it gets. */
export interface InvalidUpgrade {
  readonly ok: false;
  readonly status: number;
  readonly message: string;
  readonly headers?: OutgoingHttpHeaders;
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Checks an HTTP upgrade request against RFC 6455 section 4.2.1: the checks and answers of
 * `ws`'s `handleUpgrade()`, so a request that passes here is one `ws` will complete, and the
 * `Host` header `ws` does not check.
 */
export function validateUpgrade(
  method: string | undefined,
  headers: IncomingHttpHeaders,
): ValidUpgrade | InvalidUpgrade {
  if (method !== 'GET') {
    return { ok: false, status: 405, message: 'Invalid HTTP method', headers: { Allow: 'GET' } };
  }
  // RFC 6455 section 4.1: the opening handshake carries a Host header (`ws` does not check it).
  if (!headers.host) {
    return { ok: false, status: 400, message: 'Missing Host header' };
  }
  const upgrade = headers.upgrade;
  if (upgrade === undefined || upgrade.toLowerCase() !== 'websocket') {
    return { ok: false, status: 400, message: 'Invalid Upgrade header' };
  }
  const key = headers['sec-websocket-key'];
  if (key === undefined || !KEY.test(key)) {
    return { ok: false, status: 400, message: 'Missing or invalid Sec-WebSocket-Key header' };
  }
  const version = Number(headers['sec-websocket-version']);
  if (version !== 13 && version !== 8) {
    return {
      ok: false,
      status: 400,
      message: 'Missing or invalid Sec-WebSocket-Version header',
      headers: { 'Sec-WebSocket-Version': '13, 8' },
    };
  }
  const subprotocols = parseSubprotocols(headers['sec-websocket-protocol']);
  if (subprotocols === null) {
    return { ok: false, status: 400, message: 'Invalid Sec-WebSocket-Protocol header' };
  }
  return {
    ok: true,
    subprotocols,
    extensions: extensionNames(headers['sec-websocket-extensions']),
  };
}

// Shared by every request that offers nothing: one array less per connection.
const NONE: readonly string[] = Object.freeze([]);

/** Splits `Sec-WebSocket-Protocol` into tokens; null when malformed or repeated. */
export function parseSubprotocols(header: string | undefined): readonly string[] | null {
  if (header === undefined) return NONE;
  const list = header.split(',').map((s) => s.trim());
  if (list.some((p) => !TOKEN.test(p))) return null;
  if (new Set(list).size !== list.length) return null;
  return list;
}

/** The extension names offered in `Sec-WebSocket-Extensions`, parameters left out. */
export function extensionNames(header: string | undefined): readonly string[] {
  if (header === undefined) return NONE;
  return header
    .split(',')
    .map((offer) => offer.split(';')[0].trim())
    .filter((name) => name.length > 0);
}
