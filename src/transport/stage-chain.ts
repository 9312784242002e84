import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { filter, type MonoTypeOperatorFunction, type Subscription } from 'rxjs';
import { ConnectionRefusedError, describeError, type HookError } from '../errors';
import type { HookResult } from '../hooks';
import { refusalEntry, type Logger } from '../logs';
import { displayAddress } from './address';
import { AddressSlots, type PerAddressLimits } from './address-slots';
import { AllowList, allowListCheck } from './allow-list';
import { admissionCheck, connectionHook, type AdmissionConfig } from './admission';
import type { ConnectionRequest, ConnectionRequestInfo } from './connection-request';
import type { Clock, TimerHandle } from '../util/clock';
import { RequestPipeline } from '../util/request-pipeline';
import { hostLookupEntry, hostLookups, type HostLookupOptions } from './host-lookup';
import { SocketRequest, type LocalEnd, type RequestOutcome } from './socket-request';
import type { ResolvedTls } from './tls-options';
import {
  opensslReason,
  TlsStage,
  type ClientCertificateInfo,
  type TlsFacts,
  type TlsRequestInfo,
} from './tls-stage';

/** Where a socket is on the accept path: its peer, read once, and its handshake timer. */
export interface Peer {
  /** The client's address; IPv4-mapped IPv6 shown as IPv4. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** What the TLS stage negotiated, on a `wss://` server. */
  readonly tls?: TlsFacts;
}

/** The HTTP upgrade stage as the chain sees it (`handshake/`: validation, then `onOpenRequest`). */
export interface UpgradeStage {
  /** Takes one upgrade request on its socket; calls `chain.opened()` when `ws` has opened it. */
  handle(req: IncomingMessage, socket: Socket, head: Buffer, peer: Peer): void;
  /** Stops waiting for every `onOpenRequest` answer still pending. */
  cancelPending(): void;
}

/** What the chain is made from. */
export interface StageChainConfig extends PerAddressLimits {
  readonly logger: Logger;
  /** The `tls` option: with it, a TLS stage runs between the connection stage and HTTP. */
  readonly tls: ResolvedTls | undefined;
  readonly onClientCertificate: ((info: ClientCertificateInfo) => HookResult<boolean>) | undefined;
  readonly onTlsRequest: ((info: TlsRequestInfo) => HookResult<boolean>) | undefined;
  readonly handshakeTimeout: number;
  /** What times the handshake timeout: Node's timers, or the `scheduler` option. */
  readonly clock: Clock;
  readonly tcpNoDelay: boolean;
  readonly keepAlive: false | { readonly time: number };
  readonly allowedClients: readonly string[];
  /** Ms between two lookups of the host names in `allowedClients`; 0: only at `resolveHosts()`. */
  readonly allowedClientsRefresh: number;
  /**
   * How host names are looked up and the refresh is timed; specs give theirs. Default: Node's
   * `dns.lookup()` and unref'd timers.
   */
  readonly hostLookup?: Pick<HostLookupOptions, 'lookup' | 'scheduler'>;
  readonly maxConnections: number;
  readonly onConnectionRequest:
    ((request: ConnectionRequestInfo) => HookResult<boolean>) | undefined;
  /** The user's operator over connection requests, run after the limits, before the hook. */
  readonly connectionPipeline: MonoTypeOperatorFunction<ConnectionRequest> | undefined;
  /** Connections open now (they count against `maxConnections` with the sockets in the chain). */
  openCount(): number;
  onHookError(error: HookError): void;
}

interface Pending extends Peer {
  tls?: TlsFacts;
  /** True while the socket is in its TLS handshake (a timeout is then the tls stage's). */
  inTls?: boolean;
  readonly timer: TimerHandle;
  /** Its connection request (the pipeline forgets it when the socket closes). */
  readonly request: SocketRequest;
  /** Where the socket counts in the per-address limits (undefined: not counted). */
  readonly slotKey: string | undefined;
}

/**
 * The accept path, one stage after another, each with one way to refuse (a `refused` entry on
 * `logs$` naming its stage), under one timeout and one "closing" flag:
 *
 * ```text
 *  accept       a TCP socket (bind mode), or an attached server's upgrade (attach mode)
 *  connection   allow-list, maxConnections, per-address limits,    refused: destroyed, no byte written
 *               onConnectionRequest
 *  tls          onTlsRequest (on the ClientHello), the TLS         refused: destroyed (alert from OpenSSL)
 *               handshake, onClientCertificate
 *  handshake    the HTTP request: path, method, headers            rejected: HTTP 4xx
 *  open         onOpenRequest                                      rejected: the status it gives
 *  opened       ws completes the handshake; the server makes the Connection
 * ```
 *
 * `handshakeTimeout` runs from `accept` to `opened`: a socket that has not opened by then is
 * destroyed. A socket counts against `maxConnections` from `accept` until it has closed or
 * opened. Once the server is closing, a socket that reaches the next stage is turned away there:
 * destroyed before HTTP, answered 503 after.
 *
 * In attach mode the user's server accepted the socket and parsed its request: the chain is
 * entered at its `upgrade` event, and runs the connection stage then, before the handshake.
 */
export class StageChain {
  /**
   * The connection-request pipeline, when there is a `connectionPipeline` or an
   * `onConnectionRequest` hook.
   */
  private readonly requests: RequestPipeline<SocketRequest> | undefined;
  /** Without a hook, the whole connection-stage decision, taken as the socket is accepted. */
  private readonly admitAtOnce: (request: SocketRequest) => boolean;
  /** Sockets between accept and open (or their close), with their peer and handshake timer. */
  private readonly pending = new Map<Socket, Pending>();
  private closingFlag = false;
  /** Connection slots held per client address (fair admission). */
  private readonly slots: AddressSlots;
  /** `allowedClients`, with the addresses its host names resolve to now. */
  private readonly allowList: AllowList;
  /** The allow-list check of the connection stage (the one `allowedClients()` applies). */
  private readonly allowed: (request: SocketRequest) => boolean;
  /** The lookups of the allow-list's host names, while the server listens. */
  private hostLookups: Subscription | undefined;
  /** The local end of every accepted socket, when the server listens on one address. */
  localEnd: LocalEnd | undefined = undefined;
  /** The TLS stage, on a `wss://` server. */
  private readonly tlsStage: TlsStage | undefined;
  /** Each TLS socket in the chain, to the TCP socket it runs on (the key of `pending`). */
  private readonly tcpOf = new WeakMap<Socket, Socket>();
  /** The upgrade stage; set by the server, which wires the stages. */
  upgrade: UpgradeStage | undefined = undefined;

  constructor(private readonly config: StageChainConfig) {
    const slots = (this.slots = new AddressSlots(config));
    this.tlsStage = config.tls
      ? new TlsStage(config.tls, {
          logger: config.logger,
          onClientCertificate: config.onClientCertificate,
          onTlsRequest: config.onTlsRequest,
          onHookError: config.onHookError,
        })
      : undefined;
    this.allowList = AllowList.compile(config.allowedClients);
    this.allowed = allowListCheck<SocketRequest>(this.allowList);
    const admissionConfig: AdmissionConfig = {
      // The chain applies the allow-list itself, first (see accept()): against the addresses
      // its host names resolve to at the time, which a list of strings cannot carry.
      allowedClients: [],
      maxConnections: config.maxConnections,
      // Sockets in the chain and open connections: a connection leaves the count after its
      // socket has closed.
      current: () => this.pending.size + config.openCount(),
      onConnectionRequest: config.onConnectionRequest,
      onHookError: config.onHookError,
      perAddress: (request) => {
        const socket = (request as SocketRequest).socket;
        const refusal = slots.check(this.pending.get(socket)?.slotKey, request.remoteAddress);
        if (!refusal) return true;
        request.refuse(refusal);
        return false;
      },
    };
    this.admitAtOnce = admissionCheck<SocketRequest>(admissionConfig);
    const { connectionPipeline: user, onConnectionRequest: hook } = config;
    if (user || hook) {
      // The user's operator and the hook may decide later: requests go through a pipeline,
      // decided concurrently, after the checks that decide at once.
      const check = filter(this.admitAtOnce);
      const asked = hook ? connectionHook<SocketRequest>(hook, config.onHookError) : undefined;
      const own = user as MonoTypeOperatorFunction<SocketRequest> | undefined;
      this.requests = new RequestPipeline<SocketRequest>({
        name: 'connectionPipeline',
        operator: (requests) => {
          let decided = requests.pipe(check);
          if (own) decided = decided.pipe(own);
          return asked ? decided.pipe(asked) : decided;
        },
        onFailure: config.onHookError,
      });
    } else {
      this.requests = undefined;
    }
  }

  /** True once the server is shutting down: every stage turns new sockets away. */
  get closing(): boolean {
    return this.closingFlag;
  }

  /** Sockets in the chain now. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * `accept`, then the connection stage: tracks the socket under the handshake timeout, then
   * decides on it; `next` carries an accepted socket on (to HTTP, or to its upgrade), after the
   * TLS stage on a `wss://` server, as the TLS socket.
   */
  accept(socket: Socket, next: (stream: Socket) => void): void {
    socket.on('error', this.onSocketError);
    if (this.closingFlag) {
      socket.destroy();
      return;
    }
    const onward = this.tlsStage ? () => this.secure(socket, next) : () => next(socket);
    const request = new SocketRequest(socket, this.outcome, onward);
    const slotKey = this.slots.keyOf(request.remoteAddress);
    this.slots.entered(slotKey);
    this.pending.set(socket, {
      remoteAddress: request.remoteAddress,
      remotePort: request.remotePort,
      timer: this.config.clock.setTimeout(this.timedOut, this.config.handshakeTimeout, socket),
      request,
      slotKey,
    });
    socket.on('close', this.untrack);
    socket.setNoDelay(this.config.tcpNoDelay);
    if (this.config.keepAlive) socket.setKeepAlive(true, this.config.keepAlive.time);
    if (!this.allowed(request)) return;
    if (this.requests) this.requests.push(request);
    else if (this.admitAtOnce(request)) request.proceed();
  }

  /**
   * Starts keeping the host names of `allowedClients` resolved (as the server starts listening):
   * looks each one up now, then every `allowedClientsRefresh` ms, logging each failure (the last
   * addresses found stay in force) and each change.
   * @returns resolves once every host name has answered or failed (or `stopResolvingHosts()`
   *   was called); undefined when there is no host name or they are being resolved already.
   */
  resolveHosts(): Promise<void> | undefined {
    if (this.allowList.hosts.length === 0 || this.hostLookups) return undefined;
    return new Promise<void>((resolve) => {
      const logger = this.config.logger;
      const lookups = hostLookups(this.allowList, {
        ...this.config.hostLookup,
        refresh: this.config.allowedClientsRefresh,
      }).subscribe((results) => {
        for (const result of results) {
          const entry = hostLookupEntry(result);
          if (entry) logger.log(entry);
        }
        resolve();
      });
      lookups.add(resolve);
      this.hostLookups = lookups;
    });
  }

  /** Stops the lookups of `resolveHosts()` and clears their timer; the addresses found stay. */
  stopResolvingHosts(): void {
    this.hostLookups?.unsubscribe();
    this.hostLookups = undefined;
  }

  /** New certificates, CAs or CRLs for the TLS handshakes that start from now on. */
  replaceTls(tls: ResolvedTls): void {
    this.tlsStage!.replace(tls);
  }

  /**
   * `tls`: the TLS handshake of a socket that passed the connection stage, under the same
   * handshake timer; the TLS socket then stands for it on the rest of the path.
   */
  private secure(socket: Socket, next: (stream: Socket) => void): void {
    const entry = this.pending.get(socket);
    if (!entry || this.closingFlag) {
      socket.destroy();
      return;
    }
    entry.inTls = true;
    this.tlsStage!.start(socket, entry, {
      secure: (tlsSocket, facts) => {
        entry.inTls = false;
        if (this.closingFlag) {
          tlsSocket.destroy();
          return;
        }
        entry.tls = facts;
        this.tcpOf.set(tlsSocket, socket);
        tlsSocket.on('error', this.onSocketError);
        next(tlsSocket);
      },
      refused: (code, reason) => {
        entry.inTls = false;
        this.config.logger.log(
          refusalEntry('tls', code, reason, entry.remoteAddress, entry.remotePort),
        );
      },
    });
  }

  /** `handshake` and `open`: an upgrade request of a socket that passed the connection stage. */
  handshake(req: IncomingMessage, socket: Socket, head: Buffer): void {
    this.upgrade!.handle(req, socket, head, this.peerOf(socket));
  }

  /** A TLS socket failed after its handshake, before its upgrade: dropped, logged at `tls`. */
  refuseTls(socket: Socket, err: Error): void {
    const peer = this.peerOf(socket);
    socket.destroy();
    this.config.logger.log(
      refusalEntry(
        'tls',
        'ERR_TLS',
        `TLS failed: ${opensslReason(err)}`,
        peer.remoteAddress,
        peer.remotePort,
      ),
    );
  }

  /**
   * Refuses an upgrade at the handshake stage before it reaches the handshake itself (a path
   * nobody serves, a request HTTP could not parse), with an HTTP response.
   */
  refuseHttp(socket: Socket, status: number, reason: string, respond: () => void): void {
    const peer = this.peerOf(socket);
    this.config.logger.log(
      refusalEntry('handshake', status, reason, peer.remoteAddress, peer.remotePort),
    );
    respond();
  }

  /**
   * `opened`: `ws` has opened the socket; it leaves the chain (its timer and count), and the
   * connection takes it over.
   */
  opened(socket: Socket): void {
    const tcp = this.tcpOf.get(socket) ?? socket;
    const entry = this.pending.get(tcp);
    if (entry) {
      this.config.clock.clear(entry.timer);
      this.slots.opened(entry.slotKey);
    }
    this.pending.delete(tcp);
    tcp.removeListener('close', this.untrack);
    // ws turns Nagle off when it takes the socket; put back what the user asked for.
    if (!this.config.tcpNoDelay) tcp.setNoDelay(false);
  }

  /** An open connection from `remoteAddress` has closed: its slot is free. */
  connectionClosed(remoteAddress: string): void {
    this.slots.left(this.slots.keyOf(remoteAddress), false);
  }

  /** The server is shutting down: every stage turns new sockets away from now on. */
  close(): void {
    this.closingFlag = true;
  }

  /**
   * Drops the `onOpenRequest` answers still pending and destroys every socket in the chain.
   * Resolves once they have closed.
   */
  destroyPending(): Promise<void> {
    this.upgrade?.cancelPending();
    const closed = [...this.pending.keys()].map((socket) => {
      const done = socket.closed ? undefined : new Promise((r) => socket.once('close', r));
      socket.destroy();
      return done;
    });
    return Promise.all(closed).then(() => this.requests?.close());
  }

  /** The peer of a socket in the chain (read once, at accept), or of any other socket. */
  private peerOf(socket: Socket): Peer {
    return (
      this.pending.get(this.tcpOf.get(socket) ?? socket) ?? {
        remoteAddress: displayAddress(socket.remoteAddress ?? ''),
        remotePort: socket.remotePort ?? 0,
      }
    );
  }

  private readonly outcome: RequestOutcome = {
    refused: (request, reason) => {
      this.requests?.forget(request);
      this.config.logger.log(
        refusalEntry(
          'connection',
          reason.code,
          reason.message,
          request.remoteAddress,
          request.remotePort,
        ),
      );
    },
    accepted: (request) => {
      if (this.closingFlag) {
        request.refuse(new ConnectionRefusedError('ERR_SHUTTING_DOWN', 'server shutting down'));
        return;
      }
      const logger = this.config.logger;
      if (logger.enabled(1)) {
        logger.log({
          level: 1,
          type: 'accepted',
          message: `accepted TCP connection from ${request.remoteAddress}:${request.remotePort}`,
          remoteAddress: request.remoteAddress,
          remotePort: request.remotePort,
        });
      }
      request.continueWith();
    },
    localEnd: () => this.localEnd,
  };

  /**
   * One listener for the 'close' of every socket in the chain (`this` is the socket): no
   * closure each. Removed at `opened`, when the connection takes over.
   */
  private readonly untrack = ((chain: StageChain) =>
    function untrack(this: Socket): void {
      const entry = chain.pending.get(this);
      if (!entry) return;
      chain.config.clock.clear(entry.timer);
      chain.requests?.forget(entry.request);
      chain.slots.left(entry.slotKey, true);
      chain.pending.delete(this);
    })(this);

  private readonly onSocketError = (err: Error): void => {
    // Socket errors (ECONNRESET, EPIPE) end that socket only; 'close' follows and cleans up.
    const logger = this.config.logger;
    if (logger.enabled(3)) {
      logger.log({ level: 3, type: 'debug', message: `socket error: ${describeError(err)}` });
    }
  };

  // The socket stays in the chain (and counts against maxConnections) until it has closed.
  private readonly timedOut = (socket: Socket): void => {
    const peer = this.peerOf(socket);
    const inTls = this.pending.get(socket)?.inTls === true;
    this.config.logger.log(
      refusalEntry(
        inTls ? 'tls' : 'handshake',
        'ERR_TIMEOUT',
        `no ${inTls ? 'TLS' : 'WebSocket'} handshake within ${this.config.handshakeTimeout} ms`,
        peer.remoteAddress,
        peer.remotePort,
      ),
    );
    socket.destroy();
  };
}
