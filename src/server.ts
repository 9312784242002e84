import type { Socket } from 'node:net';
import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import type { WebSocket } from 'ws';
import { InvalidArgumentError, RxwsError, show } from './errors';
import type { CloseInfo } from './connection/close';
import { Connection, type Disconnection } from './connection/connection';
import type { ConnectionContext } from './connection/context';
import type { Message } from './connection/message';
import { fanout } from './connection/fanout';
import { Liveness } from './connection/liveness';
import { RxwsWebSocket } from './connection/receiver';
import { normalize, type MessageFormat, type OutboundData } from './connection/outbound-data';
import { CloseCode, assertCloseArgs } from './protocol/close-codes';
import { Handshake } from './handshake/upgrade';
import type { OpenRequest } from './handshake/open-request';
import { Logger, type LogEntry } from './logs';
import { metricsStream, type MetricsTiming } from './metrics/metrics-stream';
import { ServerCounters, type ServerMetrics, type ServerStats } from './metrics/server-stats';
import { memoryBackplane, type TopicGap } from './pubsub/backplane';
import { backplaneEntry } from './pubsub/backplane-log';
import type { TopicMessage } from './pubsub/topic-message';
import { Topics } from './pubsub/topics';
import { handled, rejected } from './util/handled';
import { HotStream } from './util/hot-stream';
import { nodeClock, schedulerClock } from './util/clock';
import { resolveOptions, type ResolvedOptions, type ServerOptions } from './options';
import { Listener, type ListenAddress } from './transport/listener';
import { localEndOf } from './transport/socket-request';
import { StageChain } from './transport/stage-chain';
import { resolveTls, type TlsOptions } from './transport/tls-options';

/** Options of `shutdown()`. */
export interface ShutdownOptions {
  /** Close code sent to every client. Default: `disconnectStatusCode` if set, else 1001. */
  code?: number;
  /** Close reason, at most 123 UTF-8 bytes. Default: `disconnectStatusDescription`. */
  reason?: string;
}

/** Options of `broadcast()`. */
export interface BroadcastOptions<TData = unknown> {
  /** `'text'` or `'binary'`; default: text for strings, binary for bytes (as `send()`). */
  format?: MessageFormat;
  /** Which open connections get the message; default: all of them. */
  filter?: (connection: Connection<TData>) => boolean;
}

/** Options of `publish()`. */
/** Options of `server.topic$()`. */
export interface TopicOptions {
  /** Emit a `TopicGap` where a backplane lost messages on their way here. Default false. */
  readonly gaps?: boolean;
}

export interface PublishOptions {
  /** `'text'` or `'binary'`; default: text for strings, binary for bytes (as `send()`). */
  format?: MessageFormat;
}

/**
 * A reactive WebSocket server (IPWorks' WebSocketServer). Create it with `createServer()`.
 * Every stream is hot; all complete when `shutdown()` has finished.
 */
export class RxwsServer<TData = unknown> {
  /** The options in force, defaults applied. */
  readonly options: ResolvedOptions;
  /** Each connection once it is open (hot). */
  readonly connections$: Observable<Connection<TData>>;
  /** Every message of every connection (hot). */
  readonly messages$: Observable<Message<TData>>;
  /** Each closed connection with how it closed (hot). */
  readonly disconnections$: Observable<Disconnection<TData>>;
  /** Failures of connections and hooks, typed with a stable `code` (hot). */
  readonly errors$: Observable<RxwsError>;
  /** Structured log entries at or below `logLevel` (hot). */
  readonly logs$: Observable<LogEntry>;
  /** Whether the server accepts connections; the current value on subscribe. */
  readonly listening$: Observable<boolean>;

  private readonly logger: Logger;
  private readonly connectionsSubject = new Subject<Connection<TData>>();
  private readonly messagesStream = new HotStream<Message<TData>>();
  private readonly disconnectionsSubject = new Subject<Disconnection<TData>>();
  private readonly errorsSubject = new Subject<RxwsError>();
  private readonly listeningSubject = new BehaviorSubject<boolean>(false);
  private readonly open = new Map<string, Connection<TData>>();
  /** The accept path, stage by stage, up to the open connection. */
  private readonly chain: StageChain;
  private readonly listener: Listener;
  private readonly handshake: Handshake;
  private readonly context: ConnectionContext;
  /** Which connections are in which topic, the observers of `topic$()`, the backplane link. */
  private readonly topics: Topics<Connection>;
  /** Heartbeat and idle timeout of the open connections: one timer for all of them. */
  private readonly liveness: Liveness;
  /** What times `metrics$()` with the `scheduler` option; undefined: Node's timers. */
  private readonly timing: MetricsTiming | undefined;
  private listenPromise: Promise<ListenAddress> | undefined;
  private _address: ListenAddress | null = null;
  private shutdownPromise: Promise<void> | undefined;
  private nextId = 0;

  constructor(options: ResolvedOptions) {
    this.options = options;
    this.logger = new Logger(options.logLevel, this.counters.refused);
    this.connections$ = this.connectionsSubject.asObservable();
    this.messages$ = this.messagesStream.observable;
    this.disconnections$ = this.disconnectionsSubject.asObservable();
    this.errors$ = this.errorsSubject.asObservable();
    this.logs$ = this.logger.logs$;
    this.listening$ = this.listeningSubject.asObservable();

    // The stages, in the order a socket meets them: listener (accept, HTTP) -> chain
    // (connection request) -> handshake (upgrade validation, open request) -> Connection.
    // rxws's own timers: Node's, or the `scheduler` option's (virtual time in tests).
    const scheduler = options.scheduler;
    const clock = scheduler ? schedulerClock(scheduler) : nodeClock;
    this.timing = scheduler ? { clock, now: () => scheduler.now() } : undefined;
    this.chain = new StageChain({
      ...options,
      clock,
      logger: this.logger,
      openCount: () => this.open.size,
      onHookError: (error) => this.reportError(error),
    });
    this.listener = new Listener(options, this.chain, (error) => this.reportError(error));
    this.handshake = new Handshake({
      logger: this.logger,
      maxPayload: options.maxPayload,
      perMessageDeflate: options.perMessageDeflate,
      closeTimeout: options.closeTimeout,
      protocols: options.protocols,
      onOpenRequest: options.onOpenRequest,
      openPipeline: options.openPipeline,
      // ws's WebSocket with rxws's streaming receiver (connection/receiver.ts).
      webSocketClass: RxwsWebSocket,
      isClosing: () => this.chain.closing,
      onError: (error) => this.reportError(error),
      onOpen: (ws, socket, request, data) => this.onOpen(ws, socket, request, data),
    });
    this.chain.upgrade = this.handshake;
    this.topics = new Topics<Connection>(options.backplane ?? memoryBackplane(), (event) =>
      this.logger.log(backplaneEntry(event)),
    );
    this.context = {
      clock,
      settings: options,
      topics: this.topics,
      logger: this.logger,
      sendQueueWait: this.counters.sendQueueWait,
      // Every connection of this server is a Connection<TData>: it was made by onOpen().
      onMessage: (message) => this.messagesStream.next(message as Message<TData>),
      onError: (error) => this.errorsSubject.next(error),
      onClose: (connection, info) => this.onConnectionClosed(connection as Connection<TData>, info),
    };
    this.liveness = new Liveness(options, () => this.open.values(), clock);
  }

  /** The connections open now, by id. */
  get connections(): ReadonlyMap<string, Connection<TData>> {
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
   * Running totals behind `stats` (src/metrics/server-stats.ts): refusals are counted by the
   * logger (every refusal is logged, at any level), queue waits by each connection's queue,
   * closed connections' traffic here as each closes.
   */
  private readonly counters = new ServerCounters();

  /**
   * The server's figures as of now, as a plain frozen object: connections open, opened, closed
   * and on the accept path; refusals by stage; messages and bytes in and out and drops by policy
   * since the server was made (closed connections included); sends queued now; and how long
   * queued sends waited (`sendQueueWait`: count, p50, p99, max in ms). Taking it sums the open
   * connections' `stats`: nothing is counted per message.
   */
  get stats(): ServerStats {
    return this.counters.snapshot(this.open.values(), this.chain.size);
  }

  /**
   * `stats` every `intervalMs`, with `at` (`Date.now()`) and `interval`: messages and bytes in
   * and out per second since the previous emission. Cold: each subscription has its own timer
   * (which does not keep the process alive), first emitting after `intervalMs`; it is cleared on
   * unsubscribe. Completes when `shutdown()` has finished (at once after). With the `scheduler`
   * option, the timer and the time between emissions are the scheduler's.
   *
   * @example
   * ```ts
   * server.metrics$(5000).subscribe((m) => {
   *   console.log(`${m.connections.open} open, ${m.interval.messagesInPerSec} msg/s in`);
   * });
   * ```
   * @param intervalMs milliseconds between emissions; default 1000.
   * @throws {InvalidArgumentError} for an interval that is not a positive number of milliseconds
   *   (up to 2^31-1), at the call.
   */
  metrics$(intervalMs = 1000): Observable<ServerMetrics> {
    // listening$ completes when shutdown() has finished, as every stream of the server.
    return metricsStream(() => this.stats, intervalMs, this.listeningSubject, this.timing);
  }

  /**
   * Replaces the certificates, CAs, CRLs and other TLS settings of a `wss://` server while it
   * runs: handshakes that start afterwards use the new ones; open connections and handshakes
   * under way keep theirs, and nothing is dropped. Files are read now.
   * @throws {InvalidArgumentError} on a server made without `tls`, or to change
   *   `requestClientCert` (fixed when the server is made).
   * @throws {InvalidOptionError} for a wrong field, as `createServer()` would (named `tls.*`).
   */
  setTls(tls: TlsOptions): void {
    const current = this.options.tls;
    if (!current) {
      throw new InvalidArgumentError('setTls() needs a server made with the "tls" option');
    }
    const next = resolveTls(tls);
    if (next.requestClientCert !== current.requestClientCert) {
      throw new InvalidArgumentError(
        'setTls() cannot change requestClientCert: it is fixed when the server is made',
      );
    }
    this.chain.replaceTls(next);
  }

  /**
   * Starts accepting connections. Resolves with the address, whose `port` is the real one when
   * `port` was 0. Calling it while listening resolves the same address. When `allowedClients`
   * has host names, they are looked up first (a failure is logged, not thrown), so the first
   * client is checked against their addresses.
   * @returns rejects with `ListenError` (`ERR_ADDRESS_IN_USE`, `ERR_LISTEN`) when binding fails,
   *   and with `ERR_SHUTTING_DOWN` after `shutdown()`.
   */
  listen(): Promise<ListenAddress> {
    if (this.chain.closing) {
      return rejected(new RxwsError('ERR_SHUTTING_DOWN', 'the server has been shut down'));
    }
    if (this.listenPromise) return this.listenPromise;
    // Host names of allowedClients are looked up, and the backplane has connected (or failed
    // to, logged), before the first client can arrive.
    const resolving = this.chain.resolveHosts();
    const before = resolving ? Promise.all([resolving, this.topics.ready()]) : this.topics.ready();
    const promise = handled(before.then(() => this.listener.listen()));
    this.listenPromise = promise;
    promise.then(
      (address) => {
        this._address = address;
        this.listeningSubject.next(true);
        this.logger.log({
          level: 1,
          type: 'listening',
          message: `listening on ${this.options.tls ? 'wss' : 'ws'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}${this.options.path ?? ''}`,
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
        if (this.listenPromise !== promise) return;
        this.listenPromise = undefined;
        this.chain.stopResolvingHosts();
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
    // Also ends a first lookup still running, which listening waits for.
    this.chain.stopResolvingHosts();
    try {
      await listening;
    } catch {
      return;
    }
    this.listener.stop();
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
      return rejected(
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
   * as for the sink). With permessage-deflate, it is compressed once for every connection
   * whose server side uses no context takeover (the default: `perMessageDeflate`), and by each
   * connection's own compressor for the others.
   * @returns how many connections it was handed to.
   * @throws {InvalidArgumentError} for data that cannot be sent or a bad format.
   */
  broadcast(data: OutboundData, options?: BroadcastOptions<TData>): number {
    const [payload, binary] = normalize(data, options?.format);
    return fanout(payload, binary, this.open.values(), options?.filter);
  }

  /**
   * Publishes one message on `topic`: sends it to every open connection subscribed to it
   * (`conn.subscribe(topic)`) and emits it on `topic$(topic)`. Framed once, as `broadcast()`:
   * every subscriber whose socket can take it now is written the same bytes; one with sends
   * queued takes it behind them, under its own `maxQueue` and `overflow` policy, so a slow
   * subscriber delays and drops (counted in its `stats.drops`, logged as `dropped`) only its own
   * messages. With permessage-deflate it is compressed once for every subscriber whose server
   * side uses no context takeover (the default), each with its own compressor otherwise. Messages
   * published one after the other reach each subscriber in that order; one handed over is sent
   * even if the connection unsubscribes or disconnects right after.
   *
   * @example
   * ```ts
   * import { createServer } from 'rxws';
   *
   * const server = createServer({ port: 8080 });
   * server.connections$.subscribe((conn) => conn.subscribe('prices'));
   * setInterval(() => server.publish('prices', JSON.stringify({ eur: 1.08 })), 1000);
   * await server.listen();
   * ```
   *
   * @param topic a non-empty string of at most 256 UTF-8 bytes (well-formed Unicode).
   * @param data a string (text), a `Buffer`, `Uint8Array` or `ArrayBuffer` (binary), or
   *   `{ data, format }`.
   * @param options `format`: `'text'` or `'binary'`; default: text for strings, binary for bytes.
   * @returns how many subscribed connections it was handed to (observers of `topic$()` are not
   *   counted).
   * @throws {InvalidArgumentError} for a topic that is not valid (`topic must be a non-empty
   *   string, got ""`), data that cannot be sent or a bad format.
   */
  publish(topic: string, data: OutboundData, options?: PublishOptions): number {
    return this.topics.publish(topic, data, options?.format);
  }

  /**
   * The messages published on `topic` from now on, for consumers on the server (hot, no replay):
   * `{ topic, data, format }`, text as a string and binary as a `Buffer`, in the order published.
   * Completes when `shutdown()` has finished; a subscription made after completes at once.
   *
   * @example
   * ```ts
   * server.topic$('orders').subscribe((m) => console.log(`${m.topic}: ${m.data}`));
   * ```
   *
   * With `{ gaps: true }`, messages a backplane lost on their way to this instance are
   * announced where they were missed, as `{ type: 'gap', topic, publisher, missed }` items
   * (also logged as `gap` entries on `logs$`).
   *
   * @param topic a topic name, as for `publish()`.
   * @throws {InvalidArgumentError} for a topic that is not valid, at the call.
   */
  topic$(topic: string, options?: { gaps?: false }): Observable<TopicMessage>;
  topic$(topic: string, options: { gaps: true }): Observable<TopicMessage | TopicGap>;
  topic$(topic: string, options?: TopicOptions): Observable<TopicMessage | TopicGap> {
    return this.topics.topic$(topic, options?.gaps === true);
  }

  /**
   * Resolves when messages other instances publish on `topic` from now on reach this one. A
   * subscription (`conn.subscribe()`, `topic$()`) takes effect here at once, but across
   * instances only when the backplane has it: with Redis, one round trip later (and not while
   * Redis is unreachable). At once for a topic nobody here is in, and without a backplane or with
   * `memoryBackplane()`. Never rejects.
   *
   * @example
   * ```ts
   * conn.subscribe('room:1');
   * await server.joined('room:1');
   * conn.sendText('joined'); // from here, nothing published on room:1 anywhere is missed
   * ```
   * @throws {InvalidArgumentError} for a topic that is not valid, at the call.
   */
  joined(topic: string): Promise<void> {
    return this.topics.whenJoined(topic);
  }

  /**
   * Stops accepting, closes every connection with 1001 (or `disconnectStatusCode`), waits for
   * the clients' close frames up to `closeTimeout` when `waitForCloseResponse` is true, destroys
   * what is left, and completes every stream. Resolves when every socket is closed. Calling it
   * again returns the same Promise.
   * Rejects with `InvalidArgumentError` for a close code a server may not send or a reason over
   * 123 bytes (and then does not shut down).
   */
  shutdown(options: ShutdownOptions = {}): Promise<void> {
    if (this.shutdownPromise) return this.shutdownPromise;
    const code = options.code ?? this.options.disconnectStatusCode ?? CloseCode.GOING_AWAY;
    const reason = options.reason ?? this.options.disconnectStatusDescription;
    try {
      assertCloseArgs('shutdown', code, reason);
    } catch (err) {
      return rejected(err);
    }
    this.chain.close();
    this.shutdownPromise = handled(this.runShutdown(code, reason));
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
    const handshaking = this.chain.destroyPending();
    // A connection's disconnect() resolves once its socket has closed.
    await Promise.all([...this.open.values()].map((c) => c.disconnect(code, reason)));
    await handshaking;
    this.liveness.stop();
    await this.topics.close();
    this.connectionsSubject.complete();
    this.messagesStream.complete();
    this.disconnectionsSubject.complete();
    this.errorsSubject.complete();
    this.listeningSubject.complete();
    this.logger.complete();
  }

  /** The end of the chain: `ws` has opened the socket; the connection takes it over. */
  private onOpen(ws: WebSocket, socket: Socket, request: OpenRequest, data: unknown): void {
    this.chain.opened(socket);
    const id = String(++this.nextId);
    const { remoteAddress, remotePort, ...details } = request;
    const local = localEndOf(socket, this.chain.localEnd);
    const connection = new Connection<TData>({
      id,
      data,
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
    this.liveness.start();
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

  private onConnectionClosed(connection: Connection<TData>, info: CloseInfo): void {
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
    this.topics.leaveAll(connection);
    this.counters.connectionClosed(connection.stats);
    this.open.delete(connection.id);
    this.chain.connectionClosed(connection.remoteAddress);
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
}

/**
 * Creates a WebSocket server that is not yet listening; call `listen()`. `TData` types each
 * connection's `data` (what `onOpenRequest` accepts it with); it is inferred from the hook's
 * answer when not given.
 * @throws {InvalidOptionError} naming the first invalid option and its value.
 */
export function createServer<TData = unknown>(options?: ServerOptions<TData>): RxwsServer<TData> {
  return new RxwsServer<TData>(resolveOptions(options as ServerOptions));
}
