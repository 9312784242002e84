import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
} from 'node:http';
import {
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import type { WebSocket } from 'ws';
import { ConnectionRefusedError, ListenError, RxwsError, describeError, show } from './errors';
import {
  Connection,
  type CloseInfo,
  type ConnectionContext,
  type Disconnection,
  type Message,
} from './connection/connection';
import { fanout } from './connection/fanout';
import { normalize, type MessageFormat, type OutboundData } from './connection/outbound-data';
import { CloseCode, assertCloseArgs } from './protocol/close-codes';
import { Handshake } from './handshake/upgrade';
import { buildHttpResponse, writeHttpResponseAndClose } from './handshake/http-response';
import type { OpenRequest } from './handshake/open-request';
import { Logger, type LogEntry } from './logs';
import { HotStream } from './util/hot-stream';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options';
import { displayAddress } from './transport/address';
import { admission, admissionCheck, type AdmissionConfig } from './transport/admission';
import {
  SocketRequest,
  localEndOf,
  type LocalEnd,
  type RequestOutcome,
} from './transport/socket-request';

/** Where the server listens, as `listen()` resolves it. */
export interface ListenAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
}

/** Options of `shutdown()`. */
export interface ShutdownOptions {
  /** Close code sent to every client. Default: `disconnectStatusCode` if set, else 1001. */
  code?: number;
  /** Close reason, at most 123 UTF-8 bytes. Default: `disconnectStatusDescription`. */
  reason?: string;
}

/** Options of `broadcast()`. */
export interface BroadcastOptions {
  /** `'text'` or `'binary'`; default: text for strings, binary for bytes (as `send()`). */
  format?: MessageFormat;
  /** Which open connections get the message; default: all of them. */
  filter?: (connection: Connection) => boolean;
}

/**
 * A reactive WebSocket server (IPWorks' WebSocketServer). Create it with `createServer()`.
 * Every stream is hot; all complete when `shutdown()` has finished.
 */
export class RxwsServer {
  /** The options in force, defaults applied. */
  readonly options: ResolvedOptions;
  /** Each connection once it is open (hot). */
  readonly connections$: Observable<Connection>;
  /** Every message of every connection (hot). */
  readonly messages$: Observable<Message>;
  /** Each closed connection with how it closed (hot). */
  readonly disconnections$: Observable<Disconnection>;
  /** Failures of connections and hooks, typed with a stable `code` (hot). */
  readonly errors$: Observable<RxwsError>;
  /** Structured log entries at or below `logLevel` (hot). */
  readonly logs$: Observable<LogEntry>;
  /** Whether the server accepts connections; the current value on subscribe. */
  readonly listening$: Observable<boolean>;

  private readonly logger: Logger;
  private readonly connectionsSubject = new Subject<Connection>();
  private readonly messagesStream = new HotStream<Message>();
  private readonly disconnectionsSubject = new Subject<Disconnection>();
  private readonly errorsSubject = new Subject<RxwsError>();
  private readonly listeningSubject = new BehaviorSubject<boolean>(false);
  /** The connection-request pipeline, when there is an `onConnectionRequest` hook. */
  private readonly requests: Subject<SocketRequest> | undefined;
  /** Without a hook, the whole admission decision, taken as the socket is accepted. */
  private readonly admitAtOnce: (request: SocketRequest) => boolean;
  private readonly open = new Map<string, Connection>();
  /** Sockets between TCP accept and WebSocket open (or their close), with their handshake timers. */
  private readonly pending = new Map<Socket, NodeJS.Timeout>();
  private readonly handshake: Handshake;
  private readonly httpServer: HttpServer;
  private readonly external: boolean;
  private netServer: NetServer | undefined;
  private listenPromise: Promise<ListenAddress> | undefined;
  private _address: ListenAddress | null = null;
  private shutdownPromise: Promise<void> | undefined;
  private closing = false;
  private nextId = 0;
  /** The local end of every accepted socket, when the server listens on one address. */
  private localEnd: LocalEnd | undefined;
  private readonly context: ConnectionContext;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.logger = new Logger(options.logLevel);
    this.connections$ = this.connectionsSubject.asObservable();
    this.messages$ = this.messagesStream.observable;
    this.disconnections$ = this.disconnectionsSubject.asObservable();
    this.errors$ = this.errorsSubject.asObservable();
    this.logs$ = this.logger.logs$;
    this.listening$ = this.listeningSubject.asObservable();

    this.context = {
      settings: options,
      logger: this.logger,
      onMessage: (message) => this.messagesStream.next(message),
      onError: (error) => this.errorsSubject.next(error),
      onClose: (connection, info) => this.onConnectionClosed(connection, info),
    };

    this.handshake = new Handshake({
      logger: this.logger,
      maxPayload: options.maxPayload,
      perMessageDeflate: options.perMessageDeflate,
      closeTimeout: options.closeTimeout,
      protocols: options.protocols,
      onOpenRequest: options.onOpenRequest,
      isClosing: () => this.closing,
      onError: (error) => this.reportError(error),
      onOpen: (ws, socket, request) => this.onOpen(ws, socket, request),
    });

    const admissionConfig: AdmissionConfig = {
      allowedClients: options.allowedClients,
      maxConnections: options.maxConnections,
      // Sockets not yet open and open connections: a connection leaves `open` after its socket
      // has closed.
      current: () => this.pending.size + this.open.size,
      onConnectionRequest: options.onConnectionRequest,
      onHookError: (error) => this.reportError(error),
    };
    if (options.onConnectionRequest) {
      // A hook may answer later: requests go through the pipeline, decided concurrently.
      const requests = new Subject<SocketRequest>();
      requests.pipe(admission(admissionConfig)).subscribe((request) => request.proceed());
      this.requests = requests;
    } else {
      this.requests = undefined;
    }
    this.admitAtOnce = admissionCheck<SocketRequest>(admissionConfig);

    if (options.server) {
      this.external = true;
      this.httpServer = options.server;
    } else {
      this.external = false;
      this.httpServer = createHttpServer();
      this.httpServer.on('request', (_req, res) => {
        // RFC 7231 section 6.5.15: a plain request to a WebSocket endpoint asks for the upgrade.
        const body = 'Upgrade Required';
        res.writeHead(426, {
          Upgrade: 'websocket',
          Connection: 'close',
          'Content-Type': 'text/plain; charset=utf-8',
          'Content-Length': Buffer.byteLength(body),
        });
        res.end(body);
      });
      this.httpServer.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
        if (!this.pathMatches(req)) {
          this.rejectRaw(socket, 404, 'Not Found');
          return;
        }
        this.handshake.handle(req, socket, head);
      });
      this.httpServer.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
        if (err.code === 'ECONNRESET' || !socket.writable) {
          socket.destroy();
          return;
        }
        this.rejectRaw(socket, status, `Bad Request: ${err.code ?? err.message}`);
      });
    }
  }

  /** The connections open now, by id. */
  get connections(): ReadonlyMap<string, Connection> {
    return this.open;
  }

  /** Where the server listens, or null when it does not. */
  get address(): ListenAddress | null {
    return this._address;
  }

  /** Whether the server accepts connections now. */
  get listening(): boolean {
    return this.listeningSubject.value;
  }

  /**
   * Starts accepting connections. Resolves with the address, whose `port` is the real one when
   * `port` was 0. Calling it while listening resolves the same address.
   * @returns rejects with `ListenError` (`ERR_ADDRESS_IN_USE`, `ERR_LISTEN`) when binding fails,
   *   and with `ERR_SHUTTING_DOWN` after `shutdown()`.
   */
  listen(): Promise<ListenAddress> {
    if (this.closing) {
      return Promise.reject(new RxwsError('ERR_SHUTTING_DOWN', 'the server has been shut down'));
    }
    if (this.listenPromise) return this.listenPromise;
    const promise = this.external ? this.attach() : this.bind();
    this.listenPromise = promise;
    promise.then(
      (address) => {
        this._address = address;
        this.listeningSubject.next(true);
        this.logger.log({
          level: 1,
          type: 'listening',
          message: `listening on ws://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}${this.options.path ?? ''}`,
        });
        const keepAlive = this.options.keepAlive;
        if (keepAlive && keepAlive.interval !== undefined) {
          this.logger.log({
            level: 2,
            type: 'option-ignored',
            message: `keepAlive.interval (${keepAlive.interval} ms) cannot be set by Node; the OS default probe interval applies`,
          });
        }
      },
      () => {
        if (this.listenPromise === promise) this.listenPromise = undefined;
      },
    );
    return promise;
  }

  /**
   * Stops accepting new connections and keeps the open ones. With an attached `server`, rxws
   * stops handling its upgrades and leaves the server itself listening.
   */
  async stopListening(): Promise<void> {
    const listening = this.listenPromise;
    if (!listening) return;
    this.listenPromise = undefined;
    try {
      await listening;
    } catch {
      return;
    }
    if (this.external) {
      this.httpServer.off('upgrade', this.onExternalUpgrade);
    } else {
      // close() stops the listening handle at once; its callback would wait for every socket.
      this.netServer?.close();
      this.netServer = undefined;
    }
    this._address = null;
    this.listeningSubject.next(false);
    this.logger.log({ level: 1, type: 'stopped-listening', message: 'stopped listening' });
  }

  /**
   * Closes one connection; see `Connection.disconnect()`.
   * @returns rejects with `ERR_NOT_OPEN` when no open connection has this id.
   */
  disconnect(id: string, code?: number, reason?: string): Promise<CloseInfo> {
    const connection = this.open.get(id);
    if (!connection) {
      return Promise.reject(
        new RxwsError('ERR_NOT_OPEN', `no open connection has id ${show(id)}`, {
          connectionId: id,
        }),
      );
    }
    return connection.disconnect(code, reason);
  }

  /**
   * Sends one message to every open connection (or to those `filter` accepts), framing it once
   * and writing the same frame to each socket. Each connection takes it as `conn.sink.next()`
   * would: at once when its socket can take it, else behind what it has queued, under its own
   * `maxQueue` and `overflow` policy (drops and refusals are reported on `errors$` and `logs$`
   * as for the sink). Connections with permessage-deflate get it through their compressor.
   * @returns how many connections it was handed to.
   * @throws {InvalidArgumentError} for data that cannot be sent or a bad format.
   */
  broadcast(data: OutboundData, options?: BroadcastOptions): number {
    const [payload, binary] = normalize(data, options?.format);
    return fanout(payload, binary, this.open.values(), options?.filter);
  }

  /**
   * Stops accepting, closes every connection with 1001 (or `disconnectStatusCode`), waits for
   * the clients' close frames up to `closeTimeout` when `waitForCloseResponse` is true, destroys
   * what is left, and completes every stream. Resolves when every socket is closed. Calling it
   * again returns the same Promise.
   * @throws {InvalidArgumentError} for a close code a server may not send or a reason over 123 bytes.
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.shutdownPromise) return this.shutdownPromise;
    const code = options.code ?? this.options.disconnectStatusCode ?? CloseCode.GOING_AWAY;
    const reason = options.reason ?? this.options.disconnectStatusDescription;
    assertCloseArgs('shutdown', code, reason);
    this.closing = true;
    this.shutdownPromise = this.runShutdown(code, reason);
    return this.shutdownPromise;
  }

  private async runShutdown(code: number, reason: string): Promise<void> {
    this.logger.log({
      level: 1,
      type: 'shutdown',
      message: `shutting down: closing ${this.open.size} connection(s) with ${code}`,
      code,
      reason,
    });
    await this.stopListening();
    this.handshake.cancelPending();
    const handshaking = [...this.pending.keys()].map((s) => {
      const closed = s.closed ? undefined : new Promise((r) => s.once('close', r));
      s.destroy();
      return closed;
    });
    // A connection's disconnect() resolves once its socket has closed.
    await Promise.all([...this.open.values()].map((c) => c.disconnect(code, reason)));
    await Promise.all(handshaking);
    this.requests?.complete();
    this.connectionsSubject.complete();
    this.messagesStream.complete();
    this.disconnectionsSubject.complete();
    this.errorsSubject.complete();
    this.listeningSubject.complete();
    this.logger.complete();
  }

  private bind(): Promise<ListenAddress> {
    const o = this.options;
    return new Promise<ListenAddress>((resolve, reject) => {
      const server = createNetServer({ pauseOnConnect: true, highWaterMark: o.inBufferSize });
      const onError = (err: NodeJS.ErrnoException): void => {
        server.close();
        reject(listenError(err, o.host, o.port));
      };
      server.once('error', onError);
      server.on('connection', (socket: Socket) => {
        this.admit(socket, () => {
          this.httpServer.emit('connection', socket);
          socket.resume();
        });
      });
      server.listen(
        { host: o.host, port: o.port, backlog: o.backlog, exclusive: o.exclusive },
        () => {
          server.off('error', onError);
          server.on('error', (err) =>
            this.reportError(new ListenError('ERR_LISTEN', err.message, { cause: err })),
          );
          this.netServer = server;
          const address = toListenAddress(server.address() as AddressInfo);
          // Bound to one address, every socket's local end is that address and port: no
          // getsockname() per connection. A wildcard bind reads each socket's.
          this.localEnd =
            address.address === '0.0.0.0' || address.address === '::'
              ? undefined
              : { address: displayAddress(address.address), port: address.port };
          resolve(address);
        },
      );
    });
  }

  private attach(): Promise<ListenAddress> {
    const server = this.httpServer;
    server.on('upgrade', this.onExternalUpgrade);
    if (server.listening) return Promise.resolve(toListenAddress(server.address() as AddressInfo));
    const o = this.options;
    return new Promise<ListenAddress>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        server.off('upgrade', this.onExternalUpgrade);
        reject(listenError(err, o.host, o.port));
      };
      server.once('error', onError);
      server.listen(
        { host: o.host, port: o.port, backlog: o.backlog, exclusive: o.exclusive },
        () => {
          server.off('error', onError);
          resolve(toListenAddress(server.address() as AddressInfo));
        },
      );
    });
  }

  private readonly onExternalUpgrade = (
    req: IncomingMessage,
    socket: Socket,
    head: Buffer,
  ): void => {
    if (!this.pathMatches(req)) {
      // Another handler on the same server may own this path; answer only when none does.
      if (this.httpServer.listenerCount('upgrade') === 1) this.rejectRaw(socket, 404, 'Not Found');
      return;
    }
    this.admit(socket, () => this.handshake.handle(req, socket, head));
  };

  /** The connection-request stage: tracks the socket and sends it through the pipeline. */
  private admit(socket: Socket, continueWith: () => void): void {
    const o = this.options;
    socket.on('error', this.onSocketError);
    if (this.closing) {
      socket.destroy();
      return;
    }
    this.pending.set(socket, setTimeout(this.handshakeTimedOut, o.handshakeTimeout, socket));
    socket.on('close', this.untrack);
    socket.setNoDelay(o.tcpNoDelay);
    if (o.keepAlive) socket.setKeepAlive(true, o.keepAlive.time);
    const request = new SocketRequest(socket, this.outcome, continueWith);
    if (this.requests) this.requests.next(request);
    else if (this.admitAtOnce(request)) request.proceed();
  }

  private readonly outcome: RequestOutcome = {
    refused: (request, reason) => {
      this.logger.log({
        level: 1,
        type: 'refused',
        stage: 'connection',
        code: reason.code,
        reason: reason.message,
        message: `refused ${request.remoteAddress}:${request.remotePort}: ${reason.message}`,
        remoteAddress: request.remoteAddress,
        remotePort: request.remotePort,
      });
    },
    accepted: (request) => {
      if (this.closing) {
        request.refuse(new ConnectionRefusedError('ERR_SHUTTING_DOWN', 'server shutting down'));
        return;
      }
      if (this.logger.enabled(1)) {
        this.logger.log({
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
   * One listener for the 'close' of every socket not yet open (`this` is the socket): no
   * closure each. Removed at open, when the connection takes over.
   */
  private readonly untrack = ((server: RxwsServer) =>
    function untrack(this: Socket): void {
      clearTimeout(server.pending.get(this));
      server.pending.delete(this);
    })(this);

  private onOpen(ws: WebSocket, socket: Socket, request: OpenRequest): void {
    clearTimeout(this.pending.get(socket));
    this.pending.delete(socket);
    socket.removeListener('close', this.untrack);
    // ws turns Nagle off when it takes the socket; put back what the user asked for.
    if (!this.options.tcpNoDelay) socket.setNoDelay(false);
    const id = String(++this.nextId);
    const { remoteAddress, remotePort, ...details } = request;
    const local = localEndOf(socket, this.localEnd);
    const connection = new Connection({
      id,
      ws,
      socket,
      endpoints: {
        remoteAddress,
        remotePort,
        localAddress: local.address,
        localPort: local.port,
      },
      request: details,
      context: this.context,
    });
    this.open.set(id, connection);
    if (this.logger.enabled(1)) {
      this.logger.log({
        level: 1,
        type: 'open',
        message: `connection ${id} open from ${remoteAddress}:${remotePort} to ${request.url}${connection.protocol ? ` (${connection.protocol})` : ''}`,
        connectionId: id,
        remoteAddress,
        remotePort,
      });
    }
    this.connectionsSubject.next(connection);
  }

  private onConnectionClosed(connection: Connection, info: CloseInfo): void {
    if (this.logger.enabled(1)) {
      this.logger.log({
        level: 1,
        type: 'close',
        message: `connection ${connection.id} closed with ${info.code}${info.reason ? ` "${info.reason}"` : ''}${info.wasClean ? '' : ' (not clean)'}`,
        connectionId: connection.id,
        code: info.code,
        reason: info.reason,
      });
    }
    // Emitted while the connection is still in `connections`, so subscribers can look it up.
    this.disconnectionsSubject.next({ connection, ...info });
    this.open.delete(connection.id);
  }

  // The socket stays in `pending` (and counts against maxConnections) until it has closed.
  private readonly handshakeTimedOut = (socket: Socket): void => {
    const remoteAddress = displayAddress(socket.remoteAddress ?? '');
    this.logger.log({
      level: 1,
      type: 'refused',
      stage: 'handshake',
      code: 'ERR_TIMEOUT',
      reason: `no WebSocket handshake within ${this.options.handshakeTimeout} ms`,
      message: `closed ${remoteAddress}:${socket.remotePort}: no WebSocket handshake within ${this.options.handshakeTimeout} ms`,
      remoteAddress,
      remotePort: socket.remotePort,
    });
    socket.destroy();
  };

  private pathMatches(req: IncomingMessage): boolean {
    const path = this.options.path;
    if (path === undefined) return true;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return (q === -1 ? url : url.slice(0, q)) === path;
  }

  private rejectRaw(socket: Socket, status: number, reason: string): void {
    const remoteAddress = displayAddress(socket.remoteAddress ?? '');
    this.logger.log({
      level: 1,
      type: 'refused',
      stage: 'handshake',
      code: status,
      reason,
      message: `rejected ${remoteAddress}:${socket.remotePort} at the handshake stage with HTTP ${status}: ${reason}`,
      remoteAddress,
      remotePort: socket.remotePort,
    });
    writeHttpResponseAndClose(socket, buildHttpResponse(status, reason));
  }

  private reportError(error: RxwsError): void {
    this.logger.log({
      level: 1,
      type: 'error',
      message: error.message,
      code: error.code,
      ...(error.connectionId ? { connectionId: error.connectionId } : {}),
    });
    this.errorsSubject.next(error);
  }

  private readonly onSocketError = (err: Error): void => {
    // Socket errors (ECONNRESET, EPIPE) end that socket only; 'close' follows and cleans up.
    if (this.logger.enabled(3)) {
      this.logger.log({ level: 3, type: 'debug', message: `socket error: ${describeError(err)}` });
    }
  };
}

/** The typed error for a failed bind. */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): ListenError {
  return err.code === 'EADDRINUSE'
    ? new ListenError('ERR_ADDRESS_IN_USE', `${host}:${port} is already in use`, { cause: err })
    : new ListenError('ERR_LISTEN', `cannot listen on ${host}:${port}: ${err.message}`, {
        cause: err,
      });
}

function toListenAddress(info: AddressInfo): ListenAddress {
  return {
    address: info.address,
    family: info.family === 'IPv6' ? 'IPv6' : 'IPv4',
    port: info.port,
  };
}

/**
 * Creates a WebSocket server that is not yet listening; call `listen()`.
 * @throws {InvalidOptionError} naming the first invalid option and its value.
 */
export function createServer(options?: ServerOptions): RxwsServer {
  return new RxwsServer(resolveOptions(options));
}
