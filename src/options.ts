import type { Server as HttpServer } from 'node:http';
import { InvalidOptionError, invalidOption, show } from './errors';
import type { MonoTypeOperatorFunction, SchedulerLike } from 'rxjs';
import type { OpenDecision, OpenRequest, RefusableOpenRequest } from './handshake/open-request';
import type { HeartbeatOptions } from './connection/liveness';
import type { HookResult } from './hooks';
import type { LogLevel } from './logs';
import { isValidCloseCode, utf8Length, MAX_CLOSE_REASON_BYTES } from './protocol/close-codes';
import { PRIVATE_RANGES } from './transport/address-slots';
import { AllowList, compileAllowList, splitList } from './transport/allow-list';
import type { ConnectionRequest, ConnectionRequestInfo } from './transport/connection-request';
import { DEFAULT_HOST_REFRESH } from './transport/host-lookup';
import { resolveTls, type ResolvedTls, type TlsOptions } from './transport/tls-options';
import type { ClientCertificateInfo, TlsRequestInfo } from './transport/tls-stage';
import type { Backplane } from './pubsub/backplane';
import type { PerMessageDeflateOptions, ResolvedDeflate } from './handshake/deflate-options';
export type { PerMessageDeflateOptions, ResolvedDeflate } from './handshake/deflate-options';
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

const DEFAULT_DEFLATE: ResolvedDeflate = Object.freeze({
  serverNoContextTakeover: true,
  threshold: 1024,
});

/**
 * One option: what a user may pass (`In`, a type only), what the server reads (`Out`), its
 * default, and its check. The doc comment on its entry in `OPTIONS` is its documentation.
 */
interface Option<In, Out, HasDefault extends boolean> {
  /** The default; a function of the resolved options for one that follows other options. */
  readonly default: Out | ((resolved: Readonly<Record<string, unknown>>) => Out);
  /** True when `default` is a fixed value (it then appears in `DEFAULT_OPTIONS`). */
  readonly fixed: HasDefault;
  /**
   * Checks a value the user gave (never `undefined`) and returns what the server reads.
   * @throws {InvalidOptionError} one sentence naming the option and the value.
   */
  readonly check: (value: unknown, name: string) => Out;
  /** Phantom: the type users pass. */
  readonly input?: In;
}

function option<In, Out = In>(
  dflt: Out,
  check: (value: unknown, name: string) => Out,
): Option<In, Out, true> {
  return { default: dflt, fixed: true, check };
}

/** An option whose default follows other options, or is absent (`undefined`). */
function derived<In, Out = In>(
  dflt: (resolved: Readonly<Record<string, unknown>>) => Out,
  check: (value: unknown, name: string) => Out,
): Option<In, Out, false> {
  return { default: dflt, fixed: false, check };
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_MAX_QUEUE: QueueLimit = Object.freeze({ bytes: 8 * 1024 * 1024, messages: 10_000 });

// The checks the table is made of; each throws with the sentence the README's table promises.
const integer =
  (min: number, max: number, what: string) =>
  (v: unknown, name: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      invalidOption(name, what, v);
    }
    return v;
  };
const positive = integer(1, 2 ** 31 - 1, 'a positive integer');
const boolean = (v: unknown, name: string): boolean => {
  if (typeof v !== 'boolean') invalidOption(name, 'a boolean', v);
  return v;
};
const func =
  <T>() =>
  (v: unknown, name: string): T => {
    if (typeof v !== 'function') invalidOption(name, 'a function', v);
    return v as T;
  };
const stringList = (v: unknown, name: string): readonly string[] => {
  if (typeof v === 'string') return Object.freeze(splitList(v));
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    invalidOption(name, 'a string or an array of strings', v);
  }
  return Object.freeze([...(v as string[])]);
};
const none = (): undefined => undefined;
const countOrInfinity = (v: unknown, name: string): number => {
  if (v !== Infinity && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
    invalidOption(name, 'a positive integer or Infinity', v);
  }
  return v as number;
};
/** A list of addresses in allow-list syntax, each entry checked; host names too with `hostNames`. */
const addressList =
  (hostNames: boolean) =>
  (v: unknown, name: string): readonly string[] => {
    const list = stringList(v, name);
    try {
      if (hostNames) AllowList.compile(list);
      else compileAllowList(list);
    } catch (err) {
      throw new InvalidOptionError(name, `"${name}" entry ${(err as Error).message}`);
    }
    return list;
  };

/**
 * Every option of `createServer()`, in one table: its doc comment (which states its default),
 * its default and its check. `ServerOptions`, `ResolvedOptions` and `DEFAULT_OPTIONS` are derived
 * from it; `resolveOptions()` checks the options in this order, then applies the defaults that
 * follow other options.
 */
const OPTIONS = {
  /** Interface to listen on (LocalHost). Default `'0.0.0.0'`, or `'::'` when `ipv6` is true. */
  host: derived<string>(
    (o) => (o.ipv6 ? '::' : '0.0.0.0'),
    (v, name) => {
      if (typeof v !== 'string' || v.length === 0) invalidOption(name, 'a non-empty string', v);
      return v;
    },
  ),
  /** TCP port (LocalPort); 0 picks a free one, readable from `listen()`'s result. Default 0. */
  port: option<number>(0, integer(0, 65535, 'an integer from 0 to 65535')),
  /** Length of the kernel's queue of pending connections (ConnectionBacklog). Default 511. */
  backlog: option<number>(511, positive),
  /** Listen on IPv6 `::` when no `host` is given (UseIPv6). Default false. */
  ipv6: option<boolean>(false, boolean),
  /**
   * Do not share the listening handle with cluster workers (BindExclusively; Node's `exclusive`
   * listen option; SO_EXCLUSIVEADDRUSE itself is Windows-only). Default true.
   */
  exclusive: option<boolean>(true, boolean),
  /** Disable Nagle's algorithm on every socket (TcpNoDelay). Default true, as in `ws`. */
  tcpNoDelay: option<boolean>(true, boolean),
  /** TCP keep-alive, or false for the OS default (off). Default false. */
  keepAlive: option<false | KeepAliveOptions, false | Readonly<KeepAliveOptions>>(
    false,
    (v, name) => {
      if (v === false) return false;
      if (v === null || typeof v !== 'object')
        invalidOption(name, 'false or { time, interval? }', v);
      const { time, interval } = v as Record<string, unknown>;
      if (typeof time !== 'number' || !Number.isInteger(time) || time < 0 || time > MAX_TIMER_MS) {
        invalidOption(`${name}.time`, 'an integer number of milliseconds', time);
      }
      if (
        interval !== undefined &&
        (typeof interval !== 'number' || !Number.isInteger(interval) || interval <= 0)
      ) {
        invalidOption(`${name}.interval`, 'a positive integer number of milliseconds', interval);
      }
      return Object.freeze(
        interval === undefined ? { time } : { time, interval: interval as number },
      );
    },
  ),
  /**
   * Bytes Node buffers from a socket that nobody is reading (a paused connection) before it
   * stops reading and lets TCP flow control push back on the client (InBufferSize; the
   * socket's readable high-water mark: Node cannot set SO_RCVBUF). Applies to sockets this
   * server accepts itself, not to an attached `server`. Default 65536.
   */
  inBufferSize: option<number>(64 * 1024, positive),
  /**
   * Bytes a connection lets wait in its socket's write buffer before further sends wait in
   * rxws's send queue (OutBufferSize; Node cannot set SO_SNDBUF). Default 65536.
   */
  outBufferSize: option<number>(64 * 1024, positive),
  /**
   * Bound of each connection's send queue, where sends wait while the socket holds
   * `outBufferSize` bytes: payload bytes and messages. Default `{ bytes: 8388608, messages: 10000 }`
   * (8 MiB). A connection can change its own (`conn.maxQueue`).
   */
  maxQueue: option<Partial<QueueLimit>, QueueLimit>(DEFAULT_MAX_QUEUE, (v, name) =>
    checkQueueLimit(name, v, DEFAULT_MAX_QUEUE),
  ),
  /**
   * What a send that would pass `maxQueue` does: `'error'` (it fails with ERR_WOULD_BLOCK, as
   * IPWorks' non-blocking send), `'drop-newest'` (it is dropped), `'drop-oldest'` (the oldest
   * queued sends are dropped to make room), `'close'` (the connection closes with 1008). Every
   * drop is counted in `conn.stats` and logged. Default `'error'`; `conn.overflow` changes it.
   */
  overflow: option<OverflowPolicy>('error', (v, name) => {
    if (v === null) return 'error';
    if (!isOverflowPolicy(v)) {
      invalidOption(name, '"error", "drop-newest", "drop-oldest" or "close"', v);
    }
    return v;
  }),
  /**
   * Largest message rxws reassembles, in bytes; over it the connection closes with 1009.
   * Default 104857600 (100 MiB). With `bufferMessage: false` it bounds only what is reassembled
   * (`conn.messages$`), not what is streamed through `fragments$`.
   */
  maxPayload: option<number>(
    100 * 1024 * 1024,
    integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer'),
  ),
  /**
   * What the server-level `messages$` carries (IPWorks' BufferMessage): whole messages (true)
   * or each piece as it arrives, with `eom` on the last (false). With false, a message that
   * nobody reassembles is never held in memory, whatever its size. Default true.
   */
  bufferMessage: option<boolean>(true, boolean),
  /**
   * Most fragments (non-empty pieces) a message being reassembled may have; over it the
   * connection closes with 1008. It bounds work, not memory: a message held costs its bytes
   * however it is cut (`maxPayload` bounds those). Default 131072, so a legitimate 4 MiB message
   * sent in 64-byte fragments (65,536 frames) passes (`ws`'s limit of 16,384 refuses it) and a
   * flood of tiny fragments is closed early. 0: no count bound.
   */
  maxFragments: option<number>(
    131_072,
    integer(0, Number.MAX_SAFE_INTEGER, 'a non-negative integer'),
  ),
  /**
   * Largest frame payload rxws sends (IPWorks' MaxFrameSize): a longer message goes out as
   * several frames of at most this many bytes (continuation frames), so pings and pongs can go
   * between them. Default 0: no limit, one frame per message.
   */
  maxFrameSize: option<number>(0, integer(0, Number.MAX_SAFE_INTEGER, 'a non-negative integer')),
  /**
   * Negotiate permessage-deflate (RFC 7692) when a client offers it: `true` (with the defaults
   * of `PerMessageDeflateOptions`: the server uses no context takeover, messages under 1024
   * bytes go uncompressed), `{ serverNoContextTakeover?, threshold? }`, or `false`. Default
   * false, as in `ws`.
   */
  perMessageDeflate: option<boolean | PerMessageDeflateOptions, false | ResolvedDeflate>(
    false,
    (v, name) => {
      if (v === false) return false;
      if (v === true) return DEFAULT_DEFLATE;
      if (v === null || typeof v !== 'object' || Array.isArray(v)) {
        invalidOption(name, 'a boolean or { serverNoContextTakeover?, threshold? }', v);
      }
      const given = v as Record<string, unknown>;
      for (const key of Object.keys(given)) {
        if (!Object.hasOwn(DEFAULT_DEFLATE, key)) {
          throw new InvalidOptionError(
            `${name}.${key}`,
            `"${name}.${key}" is not a permessage-deflate option; known: serverNoContextTakeover, threshold`,
          );
        }
      }
      const { serverNoContextTakeover, threshold } = given;
      return Object.freeze({
        serverNoContextTakeover:
          serverNoContextTakeover === undefined
            ? DEFAULT_DEFLATE.serverNoContextTakeover
            : boolean(serverNoContextTakeover, `${name}.serverNoContextTakeover`),
        threshold:
          threshold === undefined
            ? DEFAULT_DEFLATE.threshold
            : integer(
                0,
                Number.MAX_SAFE_INTEGER,
                'a non-negative integer',
              )(threshold, `${name}.threshold`),
      });
    },
  ),
  /**
   * Whether `sendStream()` destroys a Node stream it was given once the transfer ends, however
   * it ends (IPWorks' CloseStreamAfterTransfer). Default true.
   */
  closeStreamAfterTransfer: option<boolean>(true, boolean),
  /** Most connections at once, open or being opened (MaxConnections). Default 1000. */
  maxConnections: option<number>(1000, integer(1, 100_000, 'an integer from 1 to 100000')),
  /**
   * Most connections, open or being opened, from one client address (an IPv6 /64 counts as one
   * address), so that one client cannot take every slot; over it the socket is refused at the
   * connection stage (`ERR_MAX_PER_ADDRESS`). Not applied to `perAddressExempt`. Default a
   * quarter of `maxConnections`, rounded up (250 with the default); `Infinity`: no limit.
   */
  maxConnectionsPerAddress: derived<number>(
    (o) => Math.ceil((o.maxConnections as number) / 4),
    countOrInfinity,
  ),
  /**
   * Most sockets from one client address between TCP accept and an open WebSocket (handshakes
   * in progress), so that sockets that never finish their handshake cannot lock others out;
   * over it the socket is refused (`ERR_MAX_HANDSHAKES`). Not applied to `perAddressExempt`.
   * Default 16; `Infinity`: no limit.
   */
  maxHandshakesPerAddress: option<number>(16, countOrInfinity),
  /**
   * Client addresses the per-address limits do not apply to, in `allowedClients` syntax: where
   * a reverse proxy or load balancer connects from (all its clients share its address). Default
   * the loopback and private ranges (`127.0.0.0/8`, `::1`, `10.0.0.0/8`, `172.16.0.0/12`,
   * `192.168.0.0/16`, `169.254.0.0/16`, `fc00::/7`, `fe80::/10`); `[]`: limit every address.
   */
  perAddressExempt: option<string | readonly string[], readonly string[]>(
    PRIVATE_RANGES,
    addressList(false),
  ),
  /**
   * Allow-list of clients (AllowedClients): IP addresses, `*` wildcard octets, CIDR blocks and
   * host names, as an array or a comma-separated string; see `allowedClients()`. Host names are
   * looked up (all their addresses) when the server starts listening, before it accepts, then
   * every `allowedClientsRefresh` ms. Default `[]`: everyone.
   */
  allowedClients: option<string | readonly string[], readonly string[]>(
    Object.freeze([]),
    addressList(true),
  ),
  /**
   * Ms between two lookups of the host names in `allowedClients` while the server listens; a
   * failed lookup is logged (`type: 'allow-list'`) and keeps the addresses of the last one that
   * answered. Default 60000; 0: looked up only when the server starts listening.
   */
  allowedClientsRefresh: option<number>(
    DEFAULT_HOST_REFRESH,
    integer(0, MAX_TIMER_MS, 'a non-negative integer number of milliseconds'),
  ),
  /** Decides on each TCP connection request after the allow-list and the limit. Default: accept. */
  onConnectionRequest: derived<
    (request: ConnectionRequestInfo) => HookResult<boolean>,
    ((request: ConnectionRequestInfo) => HookResult<boolean>) | undefined
  >(none, func()),
  /**
   * The user's stage of the connection-request pipeline: an `OperatorFunction` over the
   * requests that passed the allow-list and the limits, run before `onConnectionRequest`. A
   * request it emits goes on; one it refuses (`request.refuse()`, `allowedClients()`) is
   * destroyed without a byte written; one it holds waits (within `handshakeTimeout`). Subscribed
   * once, at the first request, so stateful operators see every request. When it errors, the
   * failure goes to `errors$` (`ERR_HOOK`), the requests inside it are refused and the next
   * request subscribes it again; when it completes, every later request is refused. Default:
   * none.
   */
  connectionPipeline: derived<
    MonoTypeOperatorFunction<ConnectionRequest>,
    MonoTypeOperatorFunction<ConnectionRequest> | undefined
  >(none, func()),
  /**
   * The user's stage of the open-request pipeline: an `OperatorFunction` over the WebSocket open
   * requests that passed validation, run before `onOpenRequest`. A request it emits goes on; one
   * it refuses (`request.refuse(error)`) is answered with `error.status` (default 403). Same
   * rules as `connectionPipeline`. Default: none.
   */
  openPipeline: derived<
    MonoTypeOperatorFunction<RefusableOpenRequest>,
    MonoTypeOperatorFunction<RefusableOpenRequest> | undefined
  >(none, func()),
  /** Decides on each WebSocket open request (the HTTP upgrade). Default: accept. */
  onOpenRequest: derived<
    (request: OpenRequest) => HookResult<OpenDecision>,
    ((request: OpenRequest) => HookResult<OpenDecision>) | undefined
  >(none, func()),
  /**
   * Subprotocols the server speaks; the first the client offers that is listed is chosen. Default
   * `[]`: the first one the client offers is chosen (as in `ws`).
   */
  protocols: option<readonly string[]>(Object.freeze([]), (v, name) => {
    const list = stringList(v, name);
    for (const p of list) {
      // RFC 6455 section 4.1: a subprotocol is an HTTP token.
      if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(p))
        invalidOption(name, 'a list of HTTP tokens', p);
    }
    return list;
  }),
  /** Log verbosity of `logs$`: 0 none, 1 info, 2 verbose, 3 debug. Default 1. */
  logLevel: option<LogLevel>(
    1,
    (v, name) => integer(0, 3, 'an integer from 0 to 3')(v, name) as LogLevel,
  ),
  /**
   * Close code of `disconnect()` (DisconnectStatusCode). Default: 1000 for `disconnect()` and
   * 1001 for `shutdown()`; when set, both use it.
   */
  disconnectStatusCode: derived<number, number | undefined>(none, (v, name) => {
    if (typeof v !== 'number' || !isValidCloseCode(v)) {
      invalidOption(name, 'a close code a server may send (1000-1003, 1007-1014, 3000-4999)', v);
    }
    return v;
  }),
  /** Close reason of `disconnect()` and `shutdown()`, at most 123 UTF-8 bytes. Default `''`. */
  disconnectStatusDescription: option<string>('', (v, name) => {
    if (v === null) return '';
    if (typeof v !== 'string' || utf8Length(v) > MAX_CLOSE_REASON_BYTES) {
      invalidOption(name, `a string of at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`, v);
    }
    return v;
  }),
  /** Wait for the client's close frame after sending ours (WaitForCloseResponse). Default true. */
  waitForCloseResponse: option<boolean>(true, boolean),
  /** Longest wait in ms for the client's close frame before the socket is destroyed. Default 5000. */
  closeTimeout: option<number>(
    5000,
    integer(1, MAX_TIMER_MS, 'a positive integer number of milliseconds'),
  ),
  /** Seconds a send may make no progress before it rejects with ERR_TIMEOUT; 0 = never (DefaultTimeout). Default 0. */
  defaultTimeout: option<number>(
    0,
    integer(0, Math.floor(MAX_TIMER_MS / 1000), 'a non-negative integer number of seconds'),
  ),
  /**
   * Automatic pings: a connection from which no byte arrived for `interval` ms gets a ping, and
   * if still nothing arrives within `timeout` ms it fails with `ERR_TIMEOUT` and is closed (1001
   * "heartbeat timeout", the socket destroyed without waiting). Pings go out in order with the
   * data frames, never inside one. Default `{ interval: 25000, timeout: 20000 }` (Socket.IO's):
   * a vanished peer is noticed within 45 s; `false`: no pings.
   */
  heartbeat: option<false | HeartbeatOptions, false | Readonly<HeartbeatOptions>>(
    Object.freeze({ interval: 25_000, timeout: 20_000 }),
    (v, name) => {
      if (v === false) return false;
      if (v === null || typeof v !== 'object') {
        invalidOption(name, 'false or { interval, timeout }', v);
      }
      const { interval, timeout } = v as Record<string, unknown>;
      const ms = integer(1, MAX_TIMER_MS, 'a positive integer number of milliseconds');
      return Object.freeze({
        interval: ms(interval, `${name}.interval`),
        timeout: ms(timeout, `${name}.timeout`),
      });
    },
  ),
  /**
   * Ms without any byte from a client (data, ping, pong) after which its connection is closed
   * with 1001 "idle timeout" (uWebSockets.js' idleTimeout). A client that answers the heartbeat
   * is never idle; with `heartbeat: false` this closes quiet clients. Default 120000; 0: never.
   */
  idleTimeout: option<number>(
    120_000,
    integer(0, MAX_TIMER_MS, 'a non-negative integer number of milliseconds'),
  ),
  /**
   * What times rxws's own timers: the handshake timeout, the wait for a client's close frame
   * after rxws sent its own, send timeouts, the heartbeat and the idle timeout. An RxJS
   * `SchedulerLike`: a `TestScheduler` or `VirtualTimeScheduler` moves them in virtual time, so
   * a test sees a heartbeat timeout without waiting for it. Default: Node's timers.
   */
  scheduler: derived<SchedulerLike, SchedulerLike | undefined>(none, (v, name) => {
    const s = v as Partial<SchedulerLike> | null;
    if (
      s === null ||
      typeof s !== 'object' ||
      typeof s.schedule !== 'function' ||
      typeof s.now !== 'function'
    ) {
      invalidOption(name, 'an RxJS scheduler (with schedule() and now())', v);
    }
    return v as SchedulerLike;
  }),
  /** Longest time in ms from TCP accept to an open WebSocket; slower sockets are destroyed. Default 10000. */
  handshakeTimeout: option<number>(
    10_000,
    integer(1, MAX_TIMER_MS, 'a positive integer number of milliseconds'),
  ),
  /**
   * An existing `http.Server` (or `https.Server`) to attach to: rxws then handles only its
   * upgrades (of `path`, if given) and leaves its requests to it. Default: rxws makes its own.
   */
  server: derived<HttpServer, HttpServer | undefined>(none, (v, name) => {
    const s = v as HttpServer | null;
    if (
      s === null ||
      typeof s !== 'object' ||
      typeof s.on !== 'function' ||
      typeof s.listen !== 'function'
    ) {
      invalidOption(name, 'an http.Server or https.Server', v);
    }
    return s;
  }),
  /** Only upgrades to this path (query ignored) are handled. Default: every path. */
  path: derived<string, string | undefined>(none, (v, name) => {
    if (typeof v !== 'string' || !v.startsWith('/'))
      invalidOption(name, 'a string starting with "/"', v);
    return v;
  }),
  /**
   * Serves `wss://` (IPWorks' UseSSL): a certificate and key (or a PFX bundle), client
   * certificates, versions, ciphers, SNI...; see `TlsOptions`. Files are read and checked at
   * `createServer()`. Not with `server` (give that `https.Server` the certificates). Default:
   * none (plain `ws://`).
   */
  tls: derived<TlsOptions, ResolvedTls | undefined>(none, (v, name) => resolveTls(v, name)),
  /**
   * Decides on a client's certificate once the TLS handshake is done (IPWorks'
   * SSLClientAuthentication), with `tls.requestClientCert`: gets the certificate, the chain's
   * verdict and a recommendation, and answers a boolean (or a Promise/Observable of one) that
   * overrides the verdict both ways. Default: accept when the verdict is `'OK'`.
   */
  onClientCertificate: derived<
    (info: ClientCertificateInfo) => HookResult<boolean>,
    ((info: ClientCertificateInfo) => HookResult<boolean>) | undefined
  >(none, func()),
  /**
   * Decides on a TLS connection before its handshake is answered (IPWorks'
   * SSLConnectionRequest): gets the host name asked for (SNI), the ALPN protocols and TLS
   * versions offered, and the client's address, read from its ClientHello; answers a boolean
   * (or a Promise/Observable of one). Refused: the socket is destroyed without a TLS byte sent.
   * Default: every client that passed the connection stage goes on.
   */
  onTlsRequest: derived<
    (info: TlsRequestInfo) => HookResult<boolean>,
    ((info: TlsRequestInfo) => HookResult<boolean>) | undefined
  >(none, func()),
  /**
   * Carries topic publishes between server instances (processes or machines); each instance
   * delivers its own publishes to its own subscribers and the backplane brings the others'.
   * Servers given the same `memoryBackplane()` share topics within one process. Default: a
   * backplane of this server alone.
   */
  backplane: derived<Backplane, Backplane | undefined>(none, (v, name) => {
    if (typeof v !== 'object' || v === null || typeof (v as Backplane).attach !== 'function') {
      invalidOption(name, 'a backplane (an object with attach())', v);
    }
    return v as Backplane;
  }),
};

type Table = typeof OPTIONS;
type InputOf<O> = O extends Option<infer In, unknown, boolean> ? In : never;
type OutputOf<O> = O extends Option<unknown, infer Out, boolean> ? Out : never;

type TableOptions = { [K in keyof Table]?: InputOf<Table[K]> };

/**
 * Options of `createServer()`. Each one states its default. `TData` is the type of each
 * connection's `data`, which `onOpenRequest` gives.
 */
export type ServerOptions<TData = unknown> = Omit<TableOptions, 'onOpenRequest'> & {
  /**
   * Decides on each WebSocket open request (the HTTP upgrade): `true`/`undefined` accepts,
   * `false` rejects with 403, or a decision object; `{ accept: true, data }` hands the
   * connection its `data`. May answer with a Promise or an Observable. Default: accept.
   */
  onOpenRequest?: (request: OpenRequest) => HookResult<OpenDecision<TData>>;
};

/** Options after defaults and checks: what the server reads. */
export type ResolvedOptions = { readonly [K in keyof Table]: OutputOf<Table[K]> };

/** The options that have a fixed default, with it. */
export type DefaultOptions = {
  readonly [
    K in keyof Table as Table[K] extends Option<unknown, unknown, true> ? K : never
  ]: OutputOf<Table[K]>;
};

/** The defaults, frozen (the options whose default follows another option are not here). */
export const DEFAULT_OPTIONS: DefaultOptions = Object.freeze(
  Object.fromEntries(
    Object.entries(OPTIONS as Record<string, Option<unknown, unknown, boolean>>)
      .filter(([, o]) => o.fixed)
      .map(([name, o]) => [name, o.default]),
  ),
) as DefaultOptions;

/**
 * Applies defaults to the user's options and checks every value, in the table's order.
 * @throws {InvalidOptionError} naming the first wrong option and its value.
 */
export function resolveOptions(options: ServerOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `options must be an object, got ${show(options)}`);
  }
  const given = options as Record<string, unknown>;
  for (const key of Object.keys(given)) {
    if (!Object.hasOwn(OPTIONS, key)) throw new InvalidOptionError(key, `unknown option "${key}"`);
  }
  const resolved: Record<string, unknown> = {};
  const table = OPTIONS as Record<string, Option<unknown, unknown, boolean>>;
  for (const [name, o] of Object.entries(table)) {
    const value = given[name];
    if (value !== undefined) resolved[name] = o.check(value, name);
    else if (o.fixed) resolved[name] = o.default;
    else resolved[name] = undefined;
  }
  // Defaults that follow other options, once those are resolved.
  for (const [name, o] of Object.entries(table)) {
    if (given[name] === undefined && !o.fixed) {
      resolved[name] = (o.default as (r: Record<string, unknown>) => unknown)(resolved);
    }
  }
  // Options that only make sense together, or not at all together.
  if (resolved.tls !== undefined && resolved.server !== undefined) {
    throw new InvalidOptionError(
      'tls',
      '"tls" cannot be combined with "server": give that https.Server the certificates',
    );
  }
  if (resolved.onTlsRequest !== undefined && resolved.tls === undefined) {
    throw new InvalidOptionError('onTlsRequest', '"onTlsRequest" needs "tls"');
  }
  if (
    resolved.onClientCertificate !== undefined &&
    !(resolved.tls as ResolvedTls | undefined)?.requestClientCert
  ) {
    throw new InvalidOptionError(
      'onClientCertificate',
      '"onClientCertificate" needs "tls" with requestClientCert: true',
    );
  }
  return Object.freeze(resolved) as ResolvedOptions;
}
