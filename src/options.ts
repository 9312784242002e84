import type { Server as HttpServer } from 'node:http';
import type { HookResult } from './hooks';
import type { LogLevel } from './logs';
import { InvalidOptionError, invalidOption, show } from './errors';
import { compileAllowList, splitList } from './transport/allow-list';
import type { ConnectionRequestInfo } from './transport/connection-request';
import type { OpenDecision, OpenRequest } from './handshake/open-request';
import { isValidCloseCode, utf8Length, MAX_CLOSE_REASON_BYTES } from './protocol/close-codes';
import {
  checkQueueLimit,
  isOverflowPolicy,
  type OverflowPolicy,
  type QueueLimit,
} from './util/hold-queue';

/** TCP keep-alive. Node can set whether it is on and the idle time before the first probe. */
export interface KeepAliveOptions {
  /** Idle time in ms before the first keep-alive probe (IPWorks' KeepAliveTime). */
  time: number;
  /**
   * Interval in ms between unanswered probes (IPWorks' KeepAliveInterval). Node 20 has no API
   * for TCP_KEEPINTVL: the value is checked, then the OS default applies and a verbose log says so.
   */
  interval?: number;
}

/** Options of `createServer()`. Each one states its default. */
export interface ServerOptions {
  /** Interface to listen on (LocalHost). Default `'0.0.0.0'`, or `'::'` when `ipv6` is true. */
  host?: string;
  /** TCP port (LocalPort); 0 picks a free one, readable from `listen()`'s result. Default 0. */
  port?: number;
  /** Length of the kernel's queue of pending connections (ConnectionBacklog). Default 511. */
  backlog?: number;
  /** Listen on IPv6 `::` when no `host` is given (UseIPv6). Default false. */
  ipv6?: boolean;
  /**
   * Do not share the listening handle with cluster workers (BindExclusively; Node's `exclusive`
   * listen option; SO_EXCLUSIVEADDRUSE itself is Windows-only). Default true.
   */
  exclusive?: boolean;
  /** Disable Nagle's algorithm on every socket (TcpNoDelay). Default true, as in `ws`. */
  tcpNoDelay?: boolean;
  /** TCP keep-alive, or false for the OS default (off). Default false. */
  keepAlive?: false | KeepAliveOptions;
  /**
   * Bytes Node buffers from a socket that nobody is reading (a paused connection) before it
   * stops reading and lets TCP flow control push back on the client (InBufferSize; the
   * socket's readable high-water mark: Node cannot set SO_RCVBUF). Applies to sockets this
   * server accepts itself, not to an attached `server`. Default 65536.
   */
  inBufferSize?: number;
  /**
   * Bytes a connection lets wait in its socket's write buffer before further sends wait in
   * rxws's send queue (OutBufferSize; Node cannot set SO_SNDBUF). Default 65536.
   */
  outBufferSize?: number;
  /**
   * Bound of each connection's send queue, where sends wait while the socket holds
   * `outBufferSize` bytes: payload bytes and messages. Default `{ bytes: 8388608, messages: 10000 }`
   * (8 MiB). A connection can change its own (`conn.maxQueue`).
   */
  maxQueue?: Partial<QueueLimit>;
  /**
   * What a send that would pass `maxQueue` does: `'error'` (it fails with ERR_WOULD_BLOCK, as
   * IPWorks' non-blocking send), `'drop-newest'` (it is dropped), `'drop-oldest'` (the oldest
   * queued sends are dropped to make room), `'close'` (the connection closes with 1008). Every
   * drop is counted in `conn.stats` and logged. Default `'error'`; `conn.overflow` changes it.
   */
  overflow?: OverflowPolicy;
  /**
   * Largest message rxws reassembles, in bytes; over it the connection closes with 1009.
   * Default 104857600 (100 MiB). With `bufferMessage: false` it bounds only what is reassembled
   * (`conn.messages$`), not what is streamed through `fragments$`.
   */
  maxPayload?: number;
  /**
   * What the server-level `messages$` carries (IPWorks' BufferMessage): whole messages (true,
   * the default) or each piece as it arrives, with `eom` on the last (false). With false, a
   * message that nobody reassembles is never held in memory, whatever its size.
   */
  bufferMessage?: boolean;
  /**
   * Most pieces a message being reassembled may have; over it the connection closes with 1008.
   * Default `maxPayload / 64` (1,638,400 for 100 MiB): a bound on bookkeeping only as tight as
   * the memory bound justifies, so legitimate clients that fragment finely pass (ws's default of
   * 16,384 fails 4 MiB sent in 64-byte fragments). 0: no count bound.
   */
  maxFragments?: number;
  /**
   * Largest frame payload rxws sends (IPWorks' MaxFrameSize): a longer message goes out as
   * several frames of at most this many bytes (continuation frames), so pings and pongs can go
   * between them. Default 0: no limit, one frame per message.
   */
  maxFrameSize?: number;
  /** Negotiate permessage-deflate (RFC 7692) when a client offers it. Default false, as in `ws`. */
  perMessageDeflate?: boolean;
  /**
   * Whether `sendStream()` destroys a Node stream it was given once the transfer ends, however
   * it ends (IPWorks' CloseStreamAfterTransfer). Default true.
   */
  closeStreamAfterTransfer?: boolean;
  /** Most connections at once, open or being opened (MaxConnections). Default 1000. */
  maxConnections?: number;
  /** Allow-list of client addresses (AllowedClients); see `allowedClients()`. Default `[]`: everyone. */
  allowedClients?: string | readonly string[];
  /** Decides on each TCP connection request after the allow-list and the limit. Default: accept. */
  onConnectionRequest?: (request: ConnectionRequestInfo) => HookResult<boolean>;
  /** Decides on each WebSocket open request (the HTTP upgrade). Default: accept. */
  onOpenRequest?: (request: OpenRequest) => HookResult<OpenDecision>;
  /**
   * Subprotocols the server speaks; the first the client offers that is listed is chosen. Default
   * `[]`: the first one the client offers is chosen (as in `ws`).
   */
  protocols?: readonly string[];
  /** Log verbosity of `logs$`: 0 none, 1 info, 2 verbose, 3 debug. Default 1. */
  logLevel?: LogLevel;
  /**
   * Close code of `disconnect()` (DisconnectStatusCode). Default: 1000 for `disconnect()` and
   * 1001 for `shutdown()`; when set, both use it.
   */
  disconnectStatusCode?: number;
  /** Close reason of `disconnect()` and `shutdown()`, at most 123 UTF-8 bytes. Default `''`. */
  disconnectStatusDescription?: string;
  /** Wait for the client's close frame after sending ours (WaitForCloseResponse). Default true. */
  waitForCloseResponse?: boolean;
  /** Longest wait in ms for the client's close frame before the socket is destroyed. Default 5000. */
  closeTimeout?: number;
  /** Seconds a send may make no progress before it rejects with ERR_TIMEOUT; 0 = never (DefaultTimeout). Default 0. */
  defaultTimeout?: number;
  /** Longest time in ms from TCP accept to an open WebSocket; slower sockets are destroyed. Default 10000. */
  handshakeTimeout?: number;
  /**
   * An existing `http.Server` (or `https.Server`) to attach to: rxws then handles only its
   * upgrades (of `path`, if given) and leaves its requests to it. Default: rxws makes its own.
   */
  server?: HttpServer;
  /** Only upgrades to this path (query ignored) are handled. Default: every path. */
  path?: string;
}

/** Options after defaults and checks: what the server reads. */
export interface ResolvedOptions {
  readonly host: string;
  readonly port: number;
  readonly backlog: number;
  readonly ipv6: boolean;
  readonly exclusive: boolean;
  readonly tcpNoDelay: boolean;
  readonly keepAlive: false | Readonly<KeepAliveOptions>;
  readonly inBufferSize: number;
  readonly outBufferSize: number;
  readonly maxQueue: QueueLimit;
  readonly overflow: OverflowPolicy;
  readonly maxPayload: number;
  readonly bufferMessage: boolean;
  readonly maxFragments: number;
  readonly maxFrameSize: number;
  readonly perMessageDeflate: boolean;
  readonly closeStreamAfterTransfer: boolean;
  readonly maxConnections: number;
  readonly allowedClients: readonly string[];
  readonly onConnectionRequest: ServerOptions['onConnectionRequest'];
  readonly onOpenRequest: ServerOptions['onOpenRequest'];
  readonly protocols: readonly string[];
  readonly logLevel: LogLevel;
  readonly disconnectStatusCode: number | undefined;
  readonly disconnectStatusDescription: string;
  readonly waitForCloseResponse: boolean;
  readonly closeTimeout: number;
  readonly defaultTimeout: number;
  readonly handshakeTimeout: number;
  readonly server: HttpServer | undefined;
  readonly path: string | undefined;
}

/** The defaults, frozen. */
export const DEFAULT_OPTIONS = Object.freeze({
  port: 0,
  backlog: 511,
  ipv6: false,
  exclusive: true,
  tcpNoDelay: true,
  keepAlive: false as const,
  inBufferSize: 64 * 1024,
  outBufferSize: 64 * 1024,
  maxQueue: Object.freeze({ bytes: 8 * 1024 * 1024, messages: 10_000 }) as QueueLimit,
  overflow: 'error' as OverflowPolicy,
  maxPayload: 100 * 1024 * 1024,
  bufferMessage: true,
  maxFrameSize: 0,
  perMessageDeflate: false,
  closeStreamAfterTransfer: true,
  maxConnections: 1000,
  allowedClients: Object.freeze([]) as readonly string[],
  protocols: Object.freeze([]) as readonly string[],
  logLevel: 1 as LogLevel,
  disconnectStatusDescription: '',
  waitForCloseResponse: true,
  closeTimeout: 5000,
  defaultTimeout: 0,
  handshakeTimeout: 10_000,
});

const KNOWN = new Set<string>([
  'host',
  'port',
  'backlog',
  'ipv6',
  'exclusive',
  'tcpNoDelay',
  'keepAlive',
  'inBufferSize',
  'outBufferSize',
  'maxPayload',
  'bufferMessage',
  'maxFragments',
  'maxFrameSize',
  'perMessageDeflate',
  'closeStreamAfterTransfer',
  'maxQueue',
  'overflow',
  'maxConnections',
  'allowedClients',
  'onConnectionRequest',
  'onOpenRequest',
  'protocols',
  'logLevel',
  'disconnectStatusCode',
  'disconnectStatusDescription',
  'waitForCloseResponse',
  'closeTimeout',
  'defaultTimeout',
  'handshakeTimeout',
  'server',
  'path',
]);

function integer(
  o: Record<string, unknown>,
  name: string,
  min: number,
  max: number,
  dflt: number,
  what: string,
): number {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    invalidOption(name, what, v);
  return v;
}

function bool(o: Record<string, unknown>, name: string, dflt: boolean): boolean {
  const v = o[name];
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') invalidOption(name, 'a boolean', v);
  return v;
}

function fn<T>(o: Record<string, unknown>, name: string): T | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'function') invalidOption(name, 'a function', v);
  return v as T;
}

function stringList(o: Record<string, unknown>, name: string): readonly string[] | undefined {
  const v = o[name];
  if (v === undefined) return undefined;
  if (typeof v === 'string') return Object.freeze(splitList(v));
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    invalidOption(name, 'a string or an array of strings', v);
  }
  return Object.freeze([...(v as string[])]);
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Applies defaults to the user's options and checks every value.
 * @throws {InvalidOptionError} naming the first wrong option and its value.
 */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `options must be an object, got ${show(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new InvalidOptionError(key, `unknown option "${key}"`);
  }

  const ipv6 = bool(o, 'ipv6', DEFAULT_OPTIONS.ipv6);
  let host = o.host;
  if (host === undefined) host = ipv6 ? '::' : '0.0.0.0';
  else if (typeof host !== 'string' || host.length === 0)
    invalidOption('host', 'a non-empty string', host);

  const keepAliveIn = o.keepAlive;
  let keepAlive: ResolvedOptions['keepAlive'] = false;
  if (keepAliveIn !== undefined && keepAliveIn !== false) {
    if (keepAliveIn === null || typeof keepAliveIn !== 'object') {
      invalidOption('keepAlive', 'false or { time, interval? }', keepAliveIn);
    }
    const k = keepAliveIn as Record<string, unknown>;
    const time = k.time;
    if (typeof time !== 'number' || !Number.isInteger(time) || time < 0 || time > MAX_TIMER_MS) {
      invalidOption('keepAlive.time', 'an integer number of milliseconds', time);
    }
    const interval = k.interval;
    if (
      interval !== undefined &&
      (typeof interval !== 'number' || !Number.isInteger(interval) || interval <= 0)
    ) {
      invalidOption('keepAlive.interval', 'a positive integer number of milliseconds', interval);
    }
    keepAlive = Object.freeze(
      interval === undefined ? { time } : { time, interval: interval as number },
    );
  }

  const allowed = stringList(o, 'allowedClients') ?? DEFAULT_OPTIONS.allowedClients;
  try {
    compileAllowList(allowed);
  } catch (err) {
    throw new InvalidOptionError(
      'allowedClients',
      `"allowedClients" entry ${(err as Error).message}`,
    );
  }

  const protocols = stringList(o, 'protocols') ?? DEFAULT_OPTIONS.protocols;
  for (const p of protocols) {
    // RFC 6455 section 4.1: a subprotocol is an HTTP token.
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p))
      invalidOption('protocols', 'a list of HTTP tokens', p);
  }

  const logLevel = integer(
    o,
    'logLevel',
    0,
    3,
    DEFAULT_OPTIONS.logLevel,
    'an integer from 0 to 3',
  ) as LogLevel;

  let disconnectStatusCode: number | undefined;
  if (o.disconnectStatusCode !== undefined) {
    const c = o.disconnectStatusCode;
    if (typeof c !== 'number' || !isValidCloseCode(c)) {
      invalidOption(
        'disconnectStatusCode',
        'a close code a server may send (1000-1003, 1007-1014, 3000-4999)',
        c,
      );
    }
    disconnectStatusCode = c;
  }
  const description = o.disconnectStatusDescription ?? DEFAULT_OPTIONS.disconnectStatusDescription;
  if (typeof description !== 'string' || utf8Length(description) > MAX_CLOSE_REASON_BYTES) {
    invalidOption(
      'disconnectStatusDescription',
      `a string of at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`,
      description,
    );
  }

  const maxQueue = checkQueueLimit('maxQueue', o.maxQueue, DEFAULT_OPTIONS.maxQueue);
  const overflow = o.overflow ?? DEFAULT_OPTIONS.overflow;
  if (!isOverflowPolicy(overflow)) {
    invalidOption('overflow', '"error", "drop-newest", "drop-oldest" or "close"', overflow);
  }

  const server = o.server;
  if (
    server !== undefined &&
    (server === null ||
      typeof server !== 'object' ||
      typeof (server as HttpServer).on !== 'function' ||
      typeof (server as HttpServer).listen !== 'function')
  ) {
    invalidOption('server', 'an http.Server or https.Server', server);
  }
  const path = o.path;
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    invalidOption('path', 'a string starting with "/"', path);
  }

  const maxPayload = integer(
    o,
    'maxPayload',
    1,
    Number.MAX_SAFE_INTEGER,
    DEFAULT_OPTIONS.maxPayload,
    'a positive integer',
  );
  const resolved: ResolvedOptions = {
    host: host as string,
    port: integer(o, 'port', 0, 65535, DEFAULT_OPTIONS.port, 'an integer from 0 to 65535'),
    backlog: integer(o, 'backlog', 1, 2 ** 31 - 1, DEFAULT_OPTIONS.backlog, 'a positive integer'),
    ipv6,
    exclusive: bool(o, 'exclusive', DEFAULT_OPTIONS.exclusive),
    tcpNoDelay: bool(o, 'tcpNoDelay', DEFAULT_OPTIONS.tcpNoDelay),
    keepAlive,
    inBufferSize: integer(
      o,
      'inBufferSize',
      1,
      2 ** 31 - 1,
      DEFAULT_OPTIONS.inBufferSize,
      'a positive integer',
    ),
    outBufferSize: integer(
      o,
      'outBufferSize',
      1,
      2 ** 31 - 1,
      DEFAULT_OPTIONS.outBufferSize,
      'a positive integer',
    ),
    maxQueue,
    overflow,
    maxPayload,
    bufferMessage: bool(o, 'bufferMessage', DEFAULT_OPTIONS.bufferMessage),
    maxFragments: integer(
      o,
      'maxFragments',
      0,
      Number.MAX_SAFE_INTEGER,
      Math.floor(maxPayload / 64),
      'a non-negative integer',
    ),
    maxFrameSize: integer(
      o,
      'maxFrameSize',
      0,
      Number.MAX_SAFE_INTEGER,
      DEFAULT_OPTIONS.maxFrameSize,
      'a non-negative integer',
    ),
    perMessageDeflate: bool(o, 'perMessageDeflate', DEFAULT_OPTIONS.perMessageDeflate),
    closeStreamAfterTransfer: bool(
      o,
      'closeStreamAfterTransfer',
      DEFAULT_OPTIONS.closeStreamAfterTransfer,
    ),
    maxConnections: integer(
      o,
      'maxConnections',
      1,
      100_000,
      DEFAULT_OPTIONS.maxConnections,
      'an integer from 1 to 100000',
    ),
    allowedClients: allowed,
    onConnectionRequest: fn(o, 'onConnectionRequest'),
    onOpenRequest: fn(o, 'onOpenRequest'),
    protocols,
    logLevel,
    disconnectStatusCode,
    disconnectStatusDescription: description,
    waitForCloseResponse: bool(o, 'waitForCloseResponse', DEFAULT_OPTIONS.waitForCloseResponse),
    closeTimeout: integer(
      o,
      'closeTimeout',
      1,
      MAX_TIMER_MS,
      DEFAULT_OPTIONS.closeTimeout,
      'a positive integer number of milliseconds',
    ),
    defaultTimeout: integer(
      o,
      'defaultTimeout',
      0,
      Math.floor(MAX_TIMER_MS / 1000),
      DEFAULT_OPTIONS.defaultTimeout,
      'a non-negative integer number of seconds',
    ),
    handshakeTimeout: integer(
      o,
      'handshakeTimeout',
      1,
      MAX_TIMER_MS,
      DEFAULT_OPTIONS.handshakeTimeout,
      'a positive integer number of milliseconds',
    ),
    server: server as HttpServer | undefined,
    path: path as string | undefined,
  };
  return Object.freeze(resolved);
}
