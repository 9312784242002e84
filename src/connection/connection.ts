import type { Socket } from 'node:net';
import { Observable, type Observer } from 'rxjs';
import type { WebSocket } from 'ws';
import {
  ConnectionError,
  InvalidArgumentError,
  RxwsError,
  SendError,
  describeError,
  show,
} from '../errors';
import { CloseCode, assertCloseArgs } from '../protocol/close-codes';
import { HotStream } from '../util/hot-stream';
import { nodeClock, type TimerHandle } from '../util/clock';
import {
  checkQueueLimit,
  isOverflowPolicy,
  type OverflowPolicy,
  type QueueLimit,
} from '../util/hold-queue';
import { CloseState, notOpenError, type CloseInfo, type ConnectionState } from './close';
import type { ConnectionContext } from './context';
import { Inbound } from './inbound';
import type { ConnectionInit } from './init';
import type { Message } from './message';
import { Outbound, type WriteCallback } from './outbound';
import { normalize, type BinaryData, type OutboundData, type SendOptions } from './outbound-data';
import { streamingReceiverOf } from './receiver';
import { ConnectionSink } from './sink';
import { handled, rejected } from '../util/handled';
import { SendTimeouts, type TimedSend } from './timeouts';
import { Transfers } from './transfers';
import type {
  FileSendOptions,
  SendProgress,
  StreamSendOptions,
  StreamSource,
} from './transfer-types';
import type { ConnectionRequestDetails, ConnectionStats } from './types';
import type { TlsFacts } from '../tls-facts';
import { toConnectionError } from './ws-errors';

export type { ConnectionEndpoints, ConnectionRequestDetails, ConnectionStats } from './types';

/**
 * A closed connection, as `server.disconnections$` carries it; `connection.data` is still what
 * `onOpenRequest` gave it.
 */
export interface Disconnection<TData = unknown> extends CloseInfo {
  readonly connection: Connection<TData>;
}

// The parts hold the connection as their owner (InboundOwner, TransfersOwner, OverflowHandler,
// FanoutTarget); checked where it is handed to them rather than with `implements`, whose
// internal members would be missing from the published declarations.
/**
 * One open WebSocket connection (IPWorks' WebSocketConnection): its streams, its sink and its
 * methods. Created by the server; users receive it from `connections$`.
 *
 * A facade over its parts: `Inbound` (pieces to `fragments$`, `messages$` and the server),
 * `Outbound` (the send queue and frame writing), `CloseState` (the close state and how it
 * ended), and, made at first use, `SendTimeouts` and `Transfers` (streamed sends). Its topics
 * are kept by the server's `Topics`, not here.
 */
export class Connection<TData = unknown> {
  /** Unique within the server; never reused. */
  readonly id: string;
  /**
   * The application's data about this connection: what `onOpenRequest` accepted it with
   * (`{ accept: true, data }`), typed by `createServer<TData>()`; `undefined` when it gave none.
   * Handlers may replace it; it stays readable after close (in `disconnections$`).
   */
  data: TData;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The HTTP request that opened the connection. */
  readonly request: ConnectionRequestDetails;
  /**
   * On a `wss://` server, what the TLS handshake negotiated: protocol, cipher, resumption, the
   * client's certificate and its verdict (IPWorks' SSLNegotiated*); undefined on `ws://`.
   */
  get tls(): TlsFacts | undefined {
    return this.request.tls;
  }
  /** The negotiated subprotocol, or `''`. */
  readonly protocol: string;

  private readonly ws: WebSocket;
  private readonly socket: Socket;
  private readonly ctx: ConnectionContext;
  /** Made at the first piece received or the first look at fragments$/messages$. */
  private inbound_: Inbound | undefined;
  private readonly outbound: Outbound;
  /** Made at the first close event: an open connection is OPEN without it. */
  private closing_: CloseState | undefined;
  private _timeout: number;
  private _sink: ConnectionSink | undefined;
  /** The rest of the state, made at its first use: an idle connection carries one empty slot. */
  private extras: ConnectionExtras | undefined;
  /** @internal liveness' state (see `Liveness`): plain numbers, no object per connection. */
  livenessBytes = 0;
  /** @internal */
  quietTicks = 0;
  /** @internal */
  pongTicks = -1;

  /** @internal made by the server only (the class is exported as a type). */
  constructor(init: ConnectionInit) {
    const { ws, socket, endpoints, context } = init;
    this.id = init.id;
    this.data = init.data as TData;
    this.remoteAddress = endpoints.remoteAddress;
    this.remotePort = endpoints.remotePort;
    this.localAddress = endpoints.localAddress;
    this.localPort = endpoints.localPort;
    this.request = init.request;
    this.protocol = ws.protocol;
    this.ws = ws;
    this.socket = socket;
    this.ctx = context;
    const settings = context.settings;
    this._timeout = settings.defaultTimeout;

    this.outbound = new Outbound(ws, socket, settings.outBufferSize, context.sendQueueWait);
    this.outbound.limit = settings.maxQueue;
    this.outbound.policy = settings.overflow;
    this.outbound.overflow = this;
    this.outbound.maxFrameSize = settings.maxFrameSize;
    Inbound.attach(streamingReceiverOf(ws), this, settings);

    (ws as OwnedWebSocket)[kConnection] = this;
    ws.on('error', onWsError);
    ws.on('close', onWsClose);
  }

  /** The occasional state, made now if it was not. */
  private get own(): ConnectionExtras {
    return (this.extras ??= new ConnectionExtras());
  }

  /**
   * A Subject-like sink: `next(string)` sends text, `next(bytes)` binary, `next({ data, format })`
   * either; `complete()` closes with 1000; `error(err)` closes with `err.closeCode` or 1011.
   * Values after close are reported on `errors$` and `logs$` with `ERR_NOT_OPEN`.
   */
  get sink(): Observer<OutboundData> {
    return (this._sink ??= new ConnectionSink(this));
  }

  /**
   * This connection's data as it arrives (hot): pieces of messages, `eom` true on the last
   * piece, whether the client sent many frames or one large frame. Text pieces are strings that
   * end on a character boundary. Completes when the connection closes. A subscription made in
   * the middle of a message sees its remaining pieces.
   */
  get fragments$(): Observable<Message> {
    return this.inbound.fragments$.observable;
  }

  /**
   * This connection's whole messages (hot): `fragments$.pipe(bufferMessage({ maxSize:
   * maxPayload, maxFragments }))`, reassembled once for all subscribers; over the bound the
   * connection closes with 1009 (1008 over maxFragments). Completes when the connection closes.
   */
  get messages$(): Observable<Message> {
    return this.inbound.messages$.observable;
  }

  /**
   * Whether a send goes straight to the socket without its write buffer growing past
   * `outBufferSize` (IPWorks' ReadyToSend): the current value on subscribe, then each change
   * (edges, not every write). Sends made while it is false wait in order in the connection's
   * queue. Completes on close.
   */
  get readyToSend$(): Observable<boolean> {
    return (this.own.readyToSend$ ??= new Observable<boolean>((subscriber) => {
      subscriber.next(this.outbound.ready);
      const extras = this.own;
      extras.readyStream ??= this.stream();
      return extras.readyStream.observable.subscribe(subscriber);
    }));
  }

  /** Traffic, queue and drop figures of this connection, as of now. */
  get stats(): ConnectionStats {
    const out = this.outbound;
    return {
      bytesIn: this.inbound_?.bytesIn ?? 0,
      messagesIn: this.inbound_?.messagesIn ?? 0,
      bytesOut: out.bytesOut,
      messagesOut: out.messagesOut,
      queuedMessages: out.queued,
      queuedBytes: out.queuedBytes,
      peakQueuedBytes: out.peakQueuedBytes,
      drops: { ...NO_DROPS, ...this.extras?.drops },
      timesPaused: this.extras?.timesPaused ?? 0,
    };
  }

  /** This connection's send-queue bound; starts as the server's `maxQueue`. */
  get maxQueue(): QueueLimit {
    return this.outbound.limit;
  }

  set maxQueue(limit: Partial<QueueLimit>) {
    try {
      this.outbound.limit = checkQueueLimit('maxQueue', limit, this.outbound.limit);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  }

  /** This connection's overflow policy; starts as the server's `overflow`. */
  get overflow(): OverflowPolicy {
    return this.outbound.policy;
  }

  set overflow(policy: OverflowPolicy) {
    if (!isOverflowPolicy(policy)) {
      throw new InvalidArgumentError(
        `overflow must be "error", "drop-newest", "drop-oldest" or "close", got ${show(policy)}`,
      );
    }
    this.outbound.policy = policy;
  }

  /** The current value of `readyToSend$`. */
  get readyToSend(): boolean {
    return this.outbound.ready;
  }

  /** Payloads of the pongs received (hot); completes on close. */
  get pongs$(): Observable<Buffer> {
    const extras = this.own;
    if (!extras.pongs) {
      // Listened for only once asked for: an idle connection keeps one listener less.
      if (!this.closing_?.info) this.ws.on('pong', onWsPong);
      extras.pongs = this.stream();
    }
    return extras.pongs.observable;
  }

  /** This connection's failures (hot), each also on `server.errors$`; completes on close. */
  get errors$(): Observable<RxwsError> {
    return (this.own.errors ??= this.stream()).observable;
  }

  /**
   * Subscribes this connection to `topic`: from now on each `server.publish(topic, ...)` is sent
   * to it, through its send queue under its `maxQueue` and `overflow` policy like any send.
   * The connection leaves every topic when it closes; a connection that is not open (closing or
   * closed) is not subscribed and this returns false.
   *
   * @example
   * ```ts
   * server.connections$.subscribe((conn) => conn.subscribe('news'));
   * server.publish('news', 'hello'); // sent to every connection in 'news'
   * ```
   *
   * @param topic a non-empty string of at most 256 UTF-8 bytes (well-formed Unicode).
   * @returns true when this call subscribed it; false when it was subscribed already or is not
   *   open.
   * @throws {InvalidArgumentError} for a topic that is not valid, such as
   *   `topic must be a non-empty string, got ""`.
   */
  subscribe(topic: string): boolean {
    return this.ctx.topics.join(this, topic);
  }

  /**
   * Unsubscribes this connection from `topic`. Messages published before the call have been
   * handed to its send queue already and are still sent, in order.
   * @param topic a topic name, as for `subscribe()`.
   * @returns true when it was subscribed.
   * @throws {InvalidArgumentError} for a topic that is not valid.
   */
  unsubscribe(topic: string): boolean {
    return this.ctx.topics.leave(this, topic);
  }

  /**
   * The topics this connection is subscribed to: a read-only view that follows `subscribe()`
   * and `unsubscribe()`. Still lists them while `server.disconnections$` emits the connection;
   * empty after.
   */
  get topics(): ReadonlySet<string> {
    return this.ctx.topics.topicsOf(this);
  }

  /** Emits how the connection closed, once, then completes; late subscribers get it too. */
  get closed$(): Observable<CloseInfo> {
    return (this.own.closed$ ??= new Observable<CloseInfo>((subscriber) => {
      const info = this.closing_?.info;
      if (info) {
        subscriber.next(info);
        subscriber.complete();
        return undefined;
      }
      return (this.own.closedWaiters ??= new HotStream()).observable.subscribe(subscriber);
    }));
  }

  /** `OPEN`, `CLOSING` (a close frame has been sent or received) or `CLOSED`. */
  get state(): ConnectionState {
    const state = this.closing_?.state ?? 'OPEN';
    // ws moves to CLOSING by itself when the client's close frame arrives.
    if (state === 'OPEN' && this.ws.readyState !== WS_OPEN) return 'CLOSING';
    return state;
  }

  /** True while the connection is open. */
  get connected(): boolean {
    return this.state === 'OPEN';
  }

  /** True while reading is paused by `pause()`. */
  get paused(): boolean {
    return this.ws.isPaused;
  }

  /** Bytes waiting to be written: the socket's write buffer (not counting rxws's queue). */
  get bufferedAmount(): number {
    return this.outbound.buffered;
  }

  /**
   * Seconds a pending send may make no progress before it rejects with `ERR_TIMEOUT`; 0 = never.
   * Starts at the server's `defaultTimeout`.
   */
  get timeout(): number {
    return this._timeout;
  }

  set timeout(seconds: number) {
    if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 0) {
      throw new InvalidArgumentError(
        `timeout must be a non-negative integer number of seconds, got ${show(seconds)}`,
      );
    }
    this._timeout = seconds;
  }

  /**
   * Sends one message. Resolves once the frame is handed to the socket (written to the kernel);
   * rejects with `ERR_NOT_OPEN` when the connection is not open or closes first, and with
   * `ERR_TIMEOUT` when it makes no progress for `timeout` seconds (a send still queued is then
   * withdrawn: nothing of it is sent).
   */
  send(data: OutboundData, options?: SendOptions): Promise<void> {
    let payload: Buffer | string;
    let binary: boolean;
    try {
      [payload, binary] = normalize(data, options?.format);
    } catch (err) {
      return rejected(err);
    }
    if (this.state !== 'OPEN') return rejected(this.afterClose(payload, 'send()'));
    return handled(this.sendOpen(payload, binary));
  }

  /** `send()` on an open connection, its data normalized. */
  private sendOpen(payload: Buffer | string, binary: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this._timeout === 0) {
        this.outbound.send(payload, binary, (err) =>
          err ? reject(this.sendFailed(err)) : resolve(),
        );
        return;
      }
      const timeouts = (this.own.timeouts ??= new SendTimeouts(
        this.outbound,
        this.id,
        () => this._timeout,
        this.ctx.clock,
      ));
      const entry: TimedSend = { queued: undefined as never, reject };
      const cb: WriteCallback = (err) => {
        timeouts.settled(entry);
        if (err) reject(this.sendFailed(err));
        else resolve();
      };
      entry.queued = this.outbound.send(payload, binary, cb);
      timeouts.watch(entry);
    });
  }

  /** Sends `text` as a text message, whatever its content; see `send()`. */
  sendText(text: string): Promise<void> {
    if (typeof text !== 'string') {
      return rejected(new InvalidArgumentError(`sendText() takes a string, got ${show(text)}`));
    }
    return this.send(text, { format: 'text' });
  }

  /**
   * Sends one message now or not at all (IPWorks' non-blocking DataToSend): hands it to the
   * socket when `readyToSend` is true and nothing is queued.
   * @throws {SendError} `ERR_WOULD_BLOCK` when it would have to wait (try again on the next
   *   `readyToSend$` true), `ERR_NOT_OPEN` when the connection is not open.
   * @throws {InvalidArgumentError} for data that cannot be sent.
   */
  trySend(data: OutboundData, options?: SendOptions): void {
    const [payload, binary] = normalize(data, options?.format);
    if (this.state !== 'OPEN') throw this.notOpen();
    if (!this.outbound.ready || this.outbound.queued > 0 || this.outbound.activeTransfer) {
      throw new SendError('ERR_WOULD_BLOCK', `connection ${this.id} cannot take more data now`, {
        connectionId: this.id,
      });
    }
    this.outbound.send(payload, binary);
  }

  /**
   * Sends one message whose content comes from `source` (an Observable, an async iterable or a
   * Node `Readable`), as fragments as the data arrives, reading only while the socket can take
   * more (a Readable or iterable is paused; an Observable's values wait, up to
   * `maxQueue.bytes`). Nothing happens until the returned Observable is subscribed; it emits
   * `{ bytesSent, totalBytes }` after each fragment and completes when the last is handed to the
   * socket. Sends made meanwhile wait behind it, in order.
   *
   * `length` (IPWorks' MessageLength) declares the total: a source that delivers more or less
   * fails the send with `ERR_INVALID_DATA`. Unsubscribing or `interrupt()` cancels it: before the
   * first fragment nothing is sent; after, the connection is closed with 1011, so the client
   * never takes a truncated message for a whole one. A Readable is destroyed when the transfer
   * ends unless `closeStreamAfterTransfer` is false.
   * The Observable errors with `InvalidArgumentError` for a source or option of the wrong kind,
   * `ERR_NOT_OPEN` when the connection is not open.
   */
  sendStream(source: StreamSource, options: StreamSendOptions = {}): Observable<SendProgress> {
    return this.transfers.stream(source, options, this.ctx.settings.closeStreamAfterTransfer);
  }

  /**
   * Sends a file as one message, read in chunks (`chunkSize`, default 64 KiB) as the socket
   * takes them (IPWorks' SendFile); see `sendStream()`. `totalBytes` is the file's size. A file
   * that cannot be opened fails with `ERR_FILE` before any frame is sent; the connection stays
   * open.
   */
  sendFile(path: string, options: FileSendOptions = {}): Observable<SendProgress> {
    return this.transfers.file(path, options);
  }

  /**
   * Cancels the streamed send in flight (IPWorks' Interrupt); its progress Observable errors
   * with `ERR_INTERRUPTED`. Before its first fragment nothing is sent; after, the connection is
   * closed with 1011 "send interrupted". Returns false when no streamed send was in flight.
   */
  interrupt(): boolean {
    return this.extras?.transfers?.interrupt() ?? false;
  }

  /**
   * Sends a ping; the answer arrives on `pongs$`.
   * @throws {SendError} `ERR_NOT_OPEN` when the connection is not open.
   * @throws {InvalidArgumentError} when `data` is over 125 bytes.
   */
  ping(data?: string | BinaryData): void {
    const payload = data === undefined ? undefined : normalize(data, undefined)[0];
    if (payload !== undefined && Buffer.byteLength(payload) > 125) {
      throw new InvalidArgumentError('ping data must be at most 125 bytes');
    }
    if (this.state !== 'OPEN') throw this.notOpen();
    this.ws.ping(payload);
  }

  /**
   * Closes the connection with `code` (default: `disconnectStatusCode`, or 1000) and `reason`
   * (at most 123 UTF-8 bytes; default `disconnectStatusDescription`). Queued sends, and a
   * streamed send in flight, go out first (bounded by `closeTimeout`).
   * With `waitForCloseResponse` the client's close frame is awaited up to `closeTimeout`,
   * otherwise the socket is closed as soon as the close frame is written. Resolves with how the
   * connection closed; safe to call in any state. Rejects with `InvalidArgumentError` for a code
   * a server may not send or a reason that is too long (and then does not close).
   */
  disconnect(code?: number, reason?: string): Promise<CloseInfo> {
    const settings = this.ctx.settings;
    const closeCode = code ?? settings.disconnectStatusCode ?? CloseCode.NORMAL;
    const closeReason = reason ?? settings.disconnectStatusDescription;
    try {
      assertCloseArgs('close', closeCode, closeReason);
    } catch (err) {
      return rejected(err);
    }
    this.startClose(closeCode, closeReason, settings.waitForCloseResponse);
    return this.whenClosed();
  }

  /** Destroys the socket at once, without a close frame. Resolves when it is closed. */
  terminate(): Promise<CloseInfo> {
    if ((this.closing_?.state ?? 'OPEN') !== 'CLOSED') this.ws.terminate();
    return this.whenClosed();
  }

  /** Stops reading from the socket (IPWorks' AcceptData = false); TCP pushes back on the client. */
  pause(): void {
    if (!this.ws.isPaused) this.own.timesPaused++;
    this.ws.pause();
  }

  /** Starts reading again after `pause()`. */
  resume(): void {
    this.ws.resume();
  }

  // What the parts tell the connection. Internal: stripped from the published declarations.

  /** @internal bytes read from the socket so far (for liveness). */
  get bytesRead(): number {
    return this.socket.bytesRead;
  }

  /** @internal a heartbeat ping, in order with the data frames (never inside one). */
  sendHeartbeat(): void {
    if (this.state === 'OPEN') this.ws.ping();
  }

  /**
   * @internal no answer to a heartbeat ping: the peer is gone or stuck. The connection fails,
   * closes with 1001 "heartbeat timeout" and its socket is destroyed without waiting.
   */
  heartbeatFailed(error: ConnectionError): void {
    if (!this.closeState.begin(CloseCode.GOING_AWAY, 'heartbeat timeout')) return;
    this.failed(
      new ConnectionError(error.code, error.message, {
        connectionId: this.id,
        closeCode: error.closeCode,
      }),
    );
    this.ws.terminate();
  }

  /** @internal nothing received for `idleTimeout`: close with 1001 "idle timeout". */
  idleTimedOut(): void {
    this.startClose(CloseCode.GOING_AWAY, 'idle timeout', this.ctx.settings.waitForCloseResponse);
  }

  /** @internal the outbound while the connection is open (for `fanout()`). */
  get openOutbound(): Outbound | undefined {
    return (this.closing_?.state ?? 'OPEN') === 'OPEN' && this.ws.readyState === WS_OPEN
      ? this.outbound
      : undefined;
  }

  /** @internal one send dropped or refused by an overflow policy (the queue's or `followReadyToSend`'s). */
  overflowed(
    policy: OverflowPolicy,
    bytes: number,
    fromSink: boolean,
    queue?: { readonly length: number; readonly bytes: number },
  ): void {
    const drops = (this.own.drops ??= { ...NO_DROPS });
    drops[policy]++;
    const where = queue
      ? `followReadyToSend queue full (${queue.length} values, ${queue.bytes} bytes)`
      : `send queue full (${this.outbound.queued} messages, ${this.outbound.queuedBytes} bytes)`;
    this.ctx.logger.log({
      level: 1,
      type: 'dropped',
      message: `connection ${this.id}: ${where}; ${policy}: ${bytes} bytes ${policy === 'drop-oldest' ? 'dropped from the queue' : 'not sent'}`,
      connectionId: this.id,
      code:
        policy === 'drop-newest' || policy === 'drop-oldest' ? 'ERR_DROPPED' : 'ERR_WOULD_BLOCK',
      reason: policy,
    });
    // A sink value has no Promise to reject: a refused one is reported as a failure.
    if (fromSink && (policy === 'error' || policy === 'close')) {
      this.report(this.overflowError('ERR_WOULD_BLOCK'));
    }
    if (policy === 'close') {
      // Close now: waiting for the queue to drain would wait for the client that filled it.
      this.startClose(CloseCode.POLICY_VIOLATION, 'send queue full', false, () =>
        this.overflowError('ERR_WOULD_BLOCK'),
      );
    }
  }

  /** @internal a ReadyToSend edge: to `readyToSend$`, and to `logs$` at verbose level. */
  readyChanged(ready: boolean): void {
    this.extras?.readyStream?.next(ready);
    if (this.ctx.logger.enabled(2)) {
      this.ctx.logger.log({
        level: 2,
        type: 'ready-to-send',
        message: `connection ${this.id} ${ready ? 'is ready to send again' : `is not ready to send (${this.outbound.buffered} bytes buffered)`}`,
        connectionId: this.id,
        reason: ready ? 'ready' : 'full',
      });
    }
  }

  /** @internal the error a send dropped or refused by the overflow policy fails with. */
  overflowError(code: 'ERR_WOULD_BLOCK' | 'ERR_DROPPED'): SendError {
    return new SendError(
      code,
      code === 'ERR_DROPPED'
        ? `connection ${this.id}: send dropped, the send queue was full (${this.outbound.policy})`
        : `connection ${this.id}: send queue full (maxQueue ${this.outbound.limit.messages} messages, ${this.outbound.limit.bytes} bytes)`,
      { connectionId: this.id },
    );
  }

  /** @internal a streamed send stopped after some of its fragments went out. */
  abandonTransfer(err: SendError): void {
    this.ctx.logger.log({
      level: 1,
      type: 'error',
      message: `connection ${this.id}: ${err.message}; closing with 1011 (the message cannot be completed)`,
      connectionId: this.id,
      code: err.code,
    });
    this.report(err);
    this.startClose(CloseCode.INTERNAL_ERROR, 'send interrupted', false);
  }

  /** @internal a message over maxPayload or maxFragments: the connection closes with its code. */
  failInbound(err: ConnectionError): void {
    const error = new ConnectionError(err.code, err.message, {
      connectionId: this.id,
      closeCode: err.closeCode,
    });
    this.startClose(
      error.closeCode ?? CloseCode.POLICY_VIOLATION,
      error.code === 'ERR_MESSAGE_TOO_BIG' ? 'Message too big' : 'Too many fragments',
      false,
    );
    // Nothing more is read from a connection that is closing for what it sent.
    this.ws.pause();
    this.failed(error);
  }

  /** @internal what `sink.next()` does. */
  sinkNext(value: OutboundData): void {
    // The common cases first, without the tuple and try/catch of normalize().
    if ((this.closing_?.state ?? 'OPEN') === 'OPEN' && this.ws.readyState === WS_OPEN) {
      if (typeof value === 'string') {
        this.outbound.send(value, false);
        return;
      }
      if (Buffer.isBuffer(value)) {
        this.outbound.send(value, true);
        return;
      }
    }
    let payload: Buffer | string;
    let binary: boolean;
    try {
      [payload, binary] = normalize(value, undefined);
    } catch (err) {
      this.report(
        new SendError(
          'ERR_INVALID_DATA',
          `sink received a value that cannot be sent: ${describeError(err)}`,
          { connectionId: this.id, cause: err },
        ),
      );
      return;
    }
    if (this.state !== 'OPEN') {
      this.report(this.afterClose(payload, 'the sink'));
      return;
    }
    this.outbound.send(payload, binary);
  }

  /** @internal what `sink.error()` and `sink.complete()` do. */
  closeFromSink(code: number): void {
    this.startClose(code, '', this.ctx.settings.waitForCloseResponse);
  }

  /** @internal `ws` emitted 'pong'. */
  handlePong(data: Buffer): void {
    this.extras?.pongs?.next(data);
  }

  /** @internal `ws` emitted 'error' (once per WebSocket; it closes with the mapped code itself). */
  handleError(err: Error): void {
    this.failed(toConnectionError(err, this.id));
  }

  /** @internal `ws` emitted 'close': the socket has closed. */
  handleClose(code: number, reason: Buffer): void {
    const info = this.closeState.end(code, reason);
    const extras = this.extras;
    extras?.timeouts?.stop();
    this.ctx.clock.clear(extras?.closeWait);
    streamingReceiverOf(this.ws).releaseInflater();

    const lost = this.outbound.failQueued(
      () =>
        new SendError('ERR_NOT_OPEN', `connection ${this.id} closed before the data was sent`, {
          connectionId: this.id,
        }),
    );
    if (lost > 0) {
      this.ctx.logger.log({
        level: 1,
        type: 'send-after-close',
        message: `connection ${this.id} closed with ${lost} queued message(s) not sent`,
        connectionId: this.id,
        code: 'ERR_NOT_OPEN',
      });
    }

    this.ctx.onClose(this, info);
    extras?.closedWaiters?.next(info);
    extras?.closedWaiters?.complete();
    extras?.transfers?.cancelAll(this.notOpen());
    this.inbound_?.complete();
    extras?.pongs?.complete();
    extras?.errors?.complete();
    extras?.readyStream?.complete();
  }

  /** The inbound path, made now if it was not; from then on the receiver hands it pieces itself. */
  private get inbound(): Inbound {
    let inbound = this.inbound_;
    if (!inbound) {
      inbound = this.inbound_ = new Inbound(this, this.ctx);
      streamingReceiverOf(this.ws).sink = inbound;
    }
    return inbound;
  }

  /** The close state, made now if it was not. */
  private get closeState(): CloseState {
    return (this.closing_ ??= new CloseState());
  }

  /** @internal the first piece of a message from the receiver; see `Inbound.handlePiece()`. */
  handlePiece(data: Buffer, binary: boolean, first: boolean, eom: boolean, bytes: number): void {
    this.inbound.handlePiece(data, binary, first, eom, bytes);
  }

  /** The streamed sends, made now if they were not. */
  private get transfers(): Transfers {
    return (this.own.transfers ??= new Transfers(this, this.outbound));
  }

  /**
   * Starts the closing handshake. Queued sends go first, unless `discardQueued` is given: then
   * they fail with the error it makes and the close frame goes at once.
   */
  private startClose(
    code: number,
    reason: string,
    wait: boolean,
    discardQueued?: () => Error,
  ): void {
    if (!this.closeState.begin(code, reason)) return;
    if (discardQueued) this.outbound.failQueued(discardQueued);
    if (this.outbound.idle) {
      this.sendClose(code, reason, wait);
      return;
    }
    // Sends made before the close go out before the close frame (RFC 6455 section 5.5.1), but a
    // client that reads nothing must not hold the close forever: closeTimeout bounds the wait.
    const clock = this.ctx.clock;
    const giveUp = clock.setTimeout(terminate, this.ctx.settings.closeTimeout, this.ws);
    this.outbound.onQueueEmpty(() => {
      clock.clear(giveUp);
      if (!this.closing_?.info) this.sendClose(code, reason, wait);
    });
  }

  private sendClose(code: number, reason: string, wait: boolean): void {
    this.ws.close(code, reason);
    // ws bounds the wait for the client's close frame with its own timer, in real time; on
    // another clock (the `scheduler` option) rxws bounds it on that clock too.
    const clock = this.ctx.clock;
    if (wait && clock !== nodeClock) {
      this.own.closeWait = clock.setTimeout(terminate, this.ctx.settings.closeTimeout, this.ws);
    }
    // Without waiting, the socket ends once the close frame is written: end() queues the FIN
    // behind it, and destroySoon() destroys the socket when the write side is finished.
    if (!wait) this.socket.destroySoon();
  }

  private failed(error: ConnectionError): void {
    this.closeState.fail(error);
    this.ctx.logger.log({
      level: 1,
      type: 'error',
      message: `connection ${this.id} failed: ${error.message}`,
      connectionId: this.id,
      code: error.code,
    });
    this.report(error);
  }

  private whenClosed(): Promise<CloseInfo> {
    return (this.own.closedPromise ??= new Promise((resolve) => this.closed$.subscribe(resolve)));
  }

  /** Data that reached a connection that is not open: logged, and the error it fails with. */
  private afterClose(payload: Buffer | string, via: string): SendError {
    const err = this.notOpen();
    this.ctx.logger.log({
      level: 1,
      type: 'send-after-close',
      message: `connection ${this.id}: ${Buffer.byteLength(payload)} bytes reached ${via} after close and were not sent`,
      connectionId: this.id,
      code: err.code,
    });
    return err;
  }

  private notOpen(): SendError {
    return notOpenError(this.id, this.state);
  }

  private sendFailed(err: Error): RxwsError {
    if (err instanceof RxwsError) return err;
    return new SendError('ERR_NOT_OPEN', `connection ${this.id} closed before the data was sent`, {
      connectionId: this.id,
      cause: err,
    });
  }

  private report(err: RxwsError): void {
    this.extras?.errors?.next(err);
    this.ctx.onError(err);
  }

  /** A stream for the connection's life: completed at once when it has already closed. */
  private stream<T>(): HotStream<T> {
    const stream = new HotStream<T>();
    if (this.closing_?.info) stream.complete();
    return stream;
  }
}

/**
 * Counts and reports one value `followReadyToSend()` dropped or refused for `connection`, as its
 * own send queue's drops are: in `stats.drops`, on `logs$`, and for `'close'` by closing.
 */
export function reportDrop(
  connection: Connection,
  policy: OverflowPolicy,
  bytes: number,
  queue: { readonly length: number; readonly bytes: number },
): void {
  connection.overflowed(policy, bytes, false, queue);
}

/** What a connection holds only once it is used: streams asked for, timed and streamed sends. */
class ConnectionExtras {
  pongs: HotStream<Buffer> | undefined = undefined;
  errors: HotStream<RxwsError> | undefined = undefined;
  closedWaiters: HotStream<CloseInfo> | undefined = undefined;
  readyStream: HotStream<boolean> | undefined = undefined;
  readyToSend$: Observable<boolean> | undefined = undefined;
  closed$: Observable<CloseInfo> | undefined = undefined;
  closedPromise: Promise<CloseInfo> | undefined = undefined;
  timeouts: SendTimeouts | undefined = undefined;
  /** The wait for the client's close frame, on a clock other than Node's. */
  closeWait: TimerHandle | undefined = undefined;
  transfers: Transfers | undefined = undefined;
  timesPaused = 0;
  drops: Record<OverflowPolicy, number> | undefined = undefined;
}

const NO_DROPS: Readonly<Record<OverflowPolicy, number>> = Object.freeze({
  'drop-newest': 0,
  'drop-oldest': 0,
  close: 0,
  error: 0,
});

const kConnection = Symbol('rxws.connection');
const WS_OPEN = 1;
type OwnedWebSocket = WebSocket & { [kConnection]?: Connection };

// Listeners shared by every WebSocket (the connection is found through it): no closures per
// connection.
function onWsPong(this: OwnedWebSocket, data: Buffer): void {
  this[kConnection]!.handlePong(data);
}
function onWsError(this: OwnedWebSocket, err: Error): void {
  this[kConnection]!.handleError(err);
}
function terminate(ws: WebSocket): void {
  ws.terminate();
}
function onWsClose(this: OwnedWebSocket, code: number, reason: Buffer): void {
  this[kConnection]!.handleClose(code, reason);
}
