import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { Observable } from 'rxjs';
import type { ConnectionRefusedError } from '../errors';
import type { TlsFacts } from '../tls-facts';

/**
 * A WebSocket open request (the HTTP upgrade), as `onOpenRequest` sees it (IPWorks'
 * WebSocketOpenRequest).
 */
export interface OpenRequest {
  /** The request target, path and query: `/chat?room=1`. */
  readonly url: string;
  /** The `Host` header, or `''`. */
  readonly host: string;
  /** The `Origin` header (`Sec-WebSocket-Origin` for version 8 clients), or `''`. */
  readonly origin: string;
  /** Every request header, names in lower case, as Node parses them. */
  readonly headers: IncomingHttpHeaders;
  /** The subprotocols the client offers, in its order of preference. */
  readonly subprotocols: readonly string[];
  /** The extension names the client offers (`permessage-deflate`, ...), in its order. */
  readonly extensions: readonly string[];
  /** The client's address; IPv4-mapped IPv6 shown as IPv4. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * On a `wss://` server, what the TLS handshake negotiated and the client's certificate
   * (IPWorks' SSLNegotiated* and SSLClientAuthentication facts); undefined on `ws://`.
   */
  readonly tls: TlsFacts | undefined;
}

/**
 * An open request as it flows through `openPipeline`: refusable, like a `ConnectionRequest`, so
 * `allowedClients()` and the user's own operators can turn it away.
 */
export interface RefusableOpenRequest extends OpenRequest {
  /** True once a stage has refused the request. */
  readonly refused: boolean;
  /**
   * Rejects the request with an HTTP response: `reason.status` (default 403) and
   * `reason.message` as the body; logged as a refusal at the `open` stage. Calling it again does
   * nothing.
   */
  refuse(reason: ConnectionRefusedError): void;
  /**
   * Emits once, then completes, when the request's socket has closed: rejected, or the
   * connection it became has closed (at once when it is closed already).
   */
  readonly closed$: Observable<void>;
}

/**
 * Accepts the open request, optionally choosing the subprotocol, adding response headers and
 * handing the connection its data (`conn.data`).
 */
export interface AcceptDecision<TData = unknown> {
  readonly accept: true;
  /** The subprotocol to answer with; it must be one the client offered. */
  readonly protocol?: string;
  /** Extra headers for the `101 Switching Protocols` response. */
  readonly headers?: OutgoingHttpHeaders;
  /**
   * What the hook learnt about the client (the user, the session...), kept as the connection's
   * `data`, typed by `createServer<TData>()`. Default: `undefined`.
   */
  readonly data?: TData;
}

/** Rejects the open request with a real HTTP response, then closes the socket. */
export interface RejectDecision {
  readonly accept: false;
  /** HTTP status, 300–599. Default 403. */
  readonly status?: number;
  /** Reason, sent as the body (text/plain) and logged. Default: the status text. */
  readonly reason?: string;
  /** Extra response headers (`WWW-Authenticate`, `Retry-After`, ...). */
  readonly headers?: OutgoingHttpHeaders;
}

/**
 * What `onOpenRequest` may answer: `true`/`undefined` (accept), `false` (reject with 403), or a
 * decision object.
 */
export type OpenDecision<TData = unknown> =
  boolean | undefined | AcceptDecision<TData> | RejectDecision;

/** An open request's outcome once checked: what the handshake code acts on. */
export type CheckedDecision =
  | { accept: true; protocol: string | undefined; headers: OutgoingHttpHeaders; data: unknown }
  | { accept: false; status: number; reason: string; headers: OutgoingHttpHeaders };

/**
 * Turns what a hook answered into a checked decision.
 * @param serverProtocols the `protocols` option: the default choice is the first offered one
 *   that the server supports (the first offered one when the list is empty; none when no
 *   offered one is supported, and the client then decides whether to go on).
 * @throws {Error} with a sentence saying what is wrong with the answer.
 */
export function checkDecision(
  answer: unknown,
  request: Pick<OpenRequest, 'subprotocols'>,
  serverProtocols: readonly string[],
  statusText: (status: number) => string | undefined,
): CheckedDecision {
  // With no `protocols` configured, the first offered one is taken, as `ws` does: clients that
  // offer subprotocols (browsers, ws) fail a handshake whose answer names none.
  const defaultProtocol =
    serverProtocols.length === 0
      ? request.subprotocols[0]
      : request.subprotocols.find((p) => serverProtocols.includes(p));
  if (answer === undefined || answer === true) {
    return { accept: true, protocol: defaultProtocol, headers: {}, data: undefined };
  }
  if (answer === false) {
    return { accept: false, status: 403, reason: statusText(403) ?? 'Forbidden', headers: {} };
  }
  if (
    typeof answer !== 'object' ||
    answer === null ||
    typeof (answer as { accept?: unknown }).accept !== 'boolean'
  ) {
    throw new Error(
      `onOpenRequest must answer a boolean or { accept: boolean, ... }, got ${typeof answer === 'object' ? JSON.stringify(answer) : String(answer)}`,
    );
  }
  const decision = answer as AcceptDecision | RejectDecision;
  const headers = decision.headers ?? {};
  if (typeof headers !== 'object') throw new Error('onOpenRequest headers must be an object');
  if (decision.accept) {
    const protocol = decision.protocol ?? defaultProtocol;
    if (protocol !== undefined && !request.subprotocols.includes(protocol)) {
      throw new Error(
        `onOpenRequest chose subprotocol "${protocol}", which the client did not offer`,
      );
    }
    return { accept: true, protocol, headers, data: (decision as AcceptDecision).data };
  }
  const status = decision.status ?? 403;
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new Error(
      `onOpenRequest rejected with status ${String(status)}; it must be an integer from 300 to 599`,
    );
  }
  const reason = decision.reason ?? statusText(status) ?? 'Rejected';
  if (typeof reason !== 'string') throw new Error('onOpenRequest reason must be a string');
  return { accept: false, status, reason, headers };
}
