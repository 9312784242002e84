import type { Socket } from 'node:net';
import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import {
  ConnectionError,
  InvalidArgumentError,
  SendError,
  describeError,
  show,
  RxwsError,
  type RxwsErrorCode,
} from '../errors';
import type { OpenRequest } from '../handshake/open-request';
import type { Logger } from '../logs';
import { CloseCode, assertCloseArgs, isValidCloseCode } from '../protocol/close-codes';
import { HotStream } from '../util/hot-stream';
import { Reassembler } from './reassembler';
import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import {
  chunkPuller,
  StreamTransfer,
  type ChunkPuller,
  type SendProgress,
  type StreamSource,
  type TransferOwner,
} from './stream-send';
import { openFile } from './file';
import { streamingReceiverOf } from './receiver';
import {
  Outbound,
  type OverflowPolicy,
  type QueueLimit,
  type QueuedSend,
  type WriteCallback,
} from './outbound';
import { checkQueueLimit, isOverflowPolicy } from '../util/hold-queue';

/** The states of an open connection's life. A connection is created when it is already open. */
export type ConnectionState = 'OPEN' | 'CLOSING' | 'CLOSED';

/** How a message's payload is meant: UTF-8 text or bytes. */
export type MessageFormat = 'text' | 'binary';

/** A message received: text arrives as `string`, binary as `Buffer`. */
export interface Message {
  readonly connection: Connection;
  readonly data: string | Buffer;
  readonly format: MessageFormat;
  /** End of message: true when `data` completes the message (always, for whole messages). */
  readonly eom: boolean;
}

/** How a connection ended. */
export interface CloseInfo {
  /**
   * The close code received from the client; when none came: the code rxws sent (if rxws
   * closed), else 1006. 1005 means the client's close frame had no code.
   */
  readonly code: number;
  readonly reason: string;
  /** True when close frames went both ways before the socket closed. */
  readonly wasClean: boolean;
  /** The error that closed the connection, if one did. */
  readonly error?: RxwsError;
}

/** A closed connection, as `server.disconnections$` carries it. */
export interface Disconnection extends CloseInfo {
  readonly connection: Connection;
}

/** Bytes to send as a binary message. */
export type BinaryData = Buffer | Uint8Array | ArrayBuffer;

/** What `sink.next()` and `send()` take: a string is text, bytes are binary; or say which. */
export type OutboundData =
  string | BinaryData | { readonly data: string | BinaryData; readonly format: MessageFormat };

/** Options of one send. */
export interface SendOptions {
  /** Frame type; default: text for a string, binary for bytes. */
  format?: MessageFormat;
}

/** The HTTP request that opened the connection. */
export type ConnectionRequestDetails = Omit<OpenRequest, 'remoteAddress' | 'remotePort'>;

/** What a connection needs from its server. */
export interface ConnectionContext {
  readonly logger: Logger;
  readonly waitForCloseResponse: boolean;
  readonly closeTimeout: number;
  readonly disconnectStatusCode: number | undefined;
  readonly disconnectStatusDescription: string;
  readonly outBufferSize: number;
  readonly maxQueue: QueueLimit;
  readonly overflow: OverflowPolicy;
  readonly defaultTimeout: number;
  readonly bufferMessage: boolean;
  readonly maxPayload: number;
  readonly maxFragments: number;
  readonly maxFrameSize: number;
  readonly closeStreamAfterTransfer: boolean;
  onMessage(message: Message): void;
  onError(error: RxwsError): void;
  onClose(connection: Connection, info: CloseInfo): void;
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

/** A connection's traffic and queue figures (`conn.stats`). */
export interface ConnectionStats {
  /** Payload bytes and messages received (whole messages). */
  readonly bytesIn: number;
  readonly messagesIn: number;
  /** Payload bytes and messages handed to the socket. */
  readonly bytesOut: number;
  readonly messagesOut: number;
  /** Sends waiting in the queue now, and their payload bytes; the most bytes it has held. */
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly peakQueuedBytes: number;
  /** Sends dropped or refused by the overflow policy, by policy. */
  readonly drops: Readonly<Record<OverflowPolicy, number>>;
  /** Times `pause()` stopped reading. */
  readonly timesPaused: number;
}

/** Addresses of the two ends. */
export interface ConnectionEndpoints {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

// ws's receiver errors, by its error code, to the close code ws sends and rxws's code.
const WS_ERRORS: Record<string, [RxwsErrorCode, number]> = {
  WS_ERR_INVALID_UTF8: ['ERR_INVALID_PAYLOAD', CloseCode.INVALID_PAYLOAD],
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: ['ERR_MESSAGE_TOO_BIG', CloseCode.MESSAGE_TOO_BIG],
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: ['ERR_MESSAGE_TOO_BIG', CloseCode.MESSAGE_TOO_BIG],
  WS_ERR_TOO_MANY_BUFFERED_PARTS: ['ERR_MESSAGE_TOO_BIG', CloseCode.POLICY_VIOLATION],
};

/** Maps an error `ws` emitted to rxws's typed error. */
export function toConnectionError(
  err: Error & { code?: string },
  connectionId: string,
): ConnectionError {
  const known = err.code ? WS_ERRORS[err.code] : undefined;
  if (known) {
    return new ConnectionError(known[0], err.message, {
      cause: err,
      connectionId,
      closeCode: known[1],
    });
  }
  if (err.code?.startsWith('WS_ERR_')) {
    return new ConnectionError('ERR_PROTOCOL', err.message, {
      cause: err,
      connectionId,
      closeCode: CloseCode.PROTOCOL_ERROR,
    });
  }
  return new ConnectionError('ERR_SOCKET', err.message, {
    cause: err,
    connectionId,
    closeCode: CloseCode.ABNORMAL,
  });
}

/**
 * One open WebSocket connection (IPWorks' WebSocketConnection): its streams, its sink and its
 * methods. Created by the server; users receive it from `connections$`.
 */
export class Connection {
  /** Unique within the server; never reused. */
  readonly id: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  /** The HTTP request that opened the connection. */
  readonly request: ConnectionRequestDetails;
  /** The negotiated subprotocol, or `''`. */
  readonly protocol: string;

  private _state: ConnectionState = 'OPEN';
  private _timeout: number;
  // Streams are made on first use: an idle connection should cost little memory.
  private messages: HotStream<Message> | undefined;
  private fragments: HotStream<Message> | undefined;
  /** Made at the first message that needs reassembling: an idle connection does without. */
  private reassembler_: Reassembler | undefined;
  /** A message has delivered pieces but not its last. */
  private inMessage = false;
  /** The current message goes to the reassembly (decided at its first piece). */
  private reassembling = false;
  private _sink: ConnectionSink | undefined;
  private readonly outbound: Outbound;
  private closedInfo: CloseInfo | undefined;
  private bytesIn = 0;
  private messagesIn = 0;
  /** The rest of the state, made at its first use: an idle connection carries one empty slot. */
  private extras: ConnectionExtras | undefined;

  constructor(
    id: string,
    private readonly ws: WebSocket,
    private readonly socket: Socket,
    endpoints: ConnectionEndpoints,
    request: ConnectionRequestDetails,
    private readonly ctx: ConnectionContext,
  ) {
    this.id = id;
    this.remoteAddress = endpoints.remoteAddress;
    this.remotePort = endpoints.remotePort;
    this.localAddress = endpoints.localAddress;
    this.localPort = endpoints.localPort;
    this.request = request;
    this.protocol = ws.protocol;
    this._timeout = ctx.defaultTimeout;

    this.outbound = new Outbound(ws, socket, ctx.outBufferSize);
    this.outbound.limit = ctx.maxQueue;
    this.outbound.policy = ctx.overflow;
    this.outbound.overflow = this;
    this.outbound.maxFrameSize = ctx.maxFrameSize;

    const receiver = streamingReceiverOf(ws);
    receiver.sink = this;
    // Streaming: a message is bounded where it is reassembled, not on the wire.
    if (!ctx.bufferMessage) receiver.setMessageLimit(0);

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
    return (this.fragments ??= this.closedInfo ? completedStream() : new HotStream()).observable;
  }

  /**
   * This connection's whole messages (hot): `fragments$.pipe(bufferMessage({ maxSize:
   * maxPayload, maxFragments }))`, reassembled once for all subscribers; over the bound the
   * connection closes with 1009 (1008 over maxFragments). Completes when the connection closes.
   */
  get messages$(): Observable<Message> {
    return (this.messages ??= this.closedInfo ? completedStream() : new HotStream()).observable;
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
      extras.readyStream ??= this.closedInfo ? completedStream() : new HotStream();
      return extras.readyStream.observable.subscribe(subscriber);
    }));
  }

  /** Traffic, queue and drop figures of this connection, as of now. */
  get stats(): ConnectionStats {
    const out = this.outbound;
    return {
      bytesIn: this.bytesIn,
      messagesIn: this.messagesIn,
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
      if (!this.closedInfo) this.ws.on('pong', onWsPong);
      extras.pongs = this.closedInfo ? completedStream() : new HotStream();
    }
    return extras.pongs.observable;
  }

  /** This connection's failures (hot), each also on `server.errors$`; completes on close. */
  get errors$(): Observable<RxwsError> {
    return (this.own.errors ??= this.closedInfo ? completedStream() : new HotStream()).observable;
  }

  /** Emits how the connection closed, once, then completes; late subscribers get it too. */
  get closed$(): Observable<CloseInfo> {
    return (this.own.closed$ ??= new Observable<CloseInfo>((subscriber) => {
      if (this.closedInfo) {
        subscriber.next(this.closedInfo);
        subscriber.complete();
        return undefined;
      }
      return (this.own.closedWaiters ??= new HotStream()).observable.subscribe(subscriber);
    }));
  }

  /** `OPEN`, `CLOSING` (a close frame has been sent or received) or `CLOSED`. */
  get state(): ConnectionState {
    // ws moves to CLOSING by itself when the client's close frame arrives.
    if (this._state === 'OPEN' && this.ws.readyState !== WS_OPEN) return 'CLOSING';
    return this._state;
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
      return Promise.reject(err);
    }
    if (this.state !== 'OPEN') return Promise.reject(this.notOpen());
    return new Promise<void>((resolve, reject) => {
      if (this._timeout === 0) {
        this.outbound.send(payload, binary, (err) =>
          err ? reject(this.sendFailed(err)) : resolve(),
        );
        return;
      }
      const entry = { queued: undefined as unknown as QueuedSend, reject };
      const cb: WriteCallback = (err) => {
        const pending = this.extras?.pending;
        pending?.delete(entry);
        if (pending?.size === 0) this.stopWatchdog();
        if (err) reject(this.sendFailed(err));
        else resolve();
      };
      entry.queued = this.outbound.send(payload, binary, cb);
      (this.own.pending ??= new Set()).add(entry);
      this.startWatchdog();
    });
  }

  /** Sends `text` as a text message, whatever its content; see `send()`. */
  sendText(text: string): Promise<void> {
    if (typeof text !== 'string') {
      return Promise.reject(
        new InvalidArgumentError(`sendText() takes a string, got ${show(text)}`),
      );
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
    return new Observable<SendProgress>((subscriber) => {
      const { format = 'binary', length } = options;
      if (format !== 'text' && format !== 'binary') {
        throw new InvalidArgumentError(`format must be "text" or "binary", got ${show(format)}`);
      }
      if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
        throw new InvalidArgumentError(
          `length must be a non-negative integer, got ${show(length)}`,
        );
      }
      return this.startTransfer(
        subscriber,
        chunkPuller(source, this.outbound.limit.bytes),
        format === 'binary',
        length,
        this.ctx.closeStreamAfterTransfer,
      );
    });
  }

  /**
   * Sends a file as one message, read in chunks (`chunkSize`, default 64 KiB) as the socket
   * takes them (IPWorks' SendFile); see `sendStream()`. `totalBytes` is the file's size. A file
   * that cannot be opened fails with `ERR_FILE` before any frame is sent; the connection stays
   * open.
   */
  sendFile(path: string, options: FileSendOptions = {}): Observable<SendProgress> {
    return new Observable<SendProgress>((subscriber) => {
      const { format = 'binary', chunkSize = 64 * 1024 } = options;
      if (typeof path !== 'string' || path === '') {
        throw new InvalidArgumentError(`sendFile() takes a file path, got ${show(path)}`);
      }
      if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
        throw new InvalidArgumentError(
          `chunkSize must be a positive integer, got ${show(chunkSize)}`,
        );
      }
      let inner: Subscription | undefined;
      let cancelled = false;
      let handle: FileHandle | undefined;
      openFile(path)
        .then(({ file, size }) => {
          handle = file;
          if (cancelled) {
            void file.close();
            return;
          }
          const stream = file.createReadStream({ highWaterMark: chunkSize });
          inner = this.sendStreamOwned(stream, format, size).subscribe(subscriber);
        })
        .catch((err: NodeJS.ErrnoException) => {
          subscriber.error(
            new SendError('ERR_FILE', `sendFile(): cannot read ${path}: ${err.message}`, {
              connectionId: this.id,
              cause: err,
            }),
          );
        });
      return () => {
        cancelled = true;
        inner?.unsubscribe();
        if (!inner) void handle?.close();
      };
    });
  }

  /** A stream rxws opened itself: always destroyed at the end. */
  private sendStreamOwned(
    stream: Readable,
    format: MessageFormat,
    length: number,
  ): Observable<SendProgress> {
    return new Observable<SendProgress>((subscriber) =>
      this.startTransfer(
        subscriber,
        chunkPuller(stream, this.outbound.limit.bytes),
        format === 'binary',
        length,
        true,
      ),
    );
  }

  /** Queues a streamed send for `subscriber`; returns its teardown (cancel on unsubscribe). */
  private startTransfer(
    subscriber: Subscriber<SendProgress>,
    puller: ChunkPuller,
    binary: boolean,
    length: number | undefined,
    destroySource: boolean,
  ): () => void {
    if (this.state !== 'OPEN') {
      puller.cancel(destroySource);
      throw this.notOpen();
    }
    const transfer = new StreamTransfer(
      this.outbound,
      (this.own.transferOwner ??= new TransferReporter(this)),
      puller,
      binary,
      length,
      destroySource,
      subscriber,
    );
    (this.own.transfers ??= new Set()).add(transfer);
    this.outbound.enqueueTransfer(transfer);
    return () => {
      this.extras?.transfers?.delete(transfer);
      transfer.cancel(this.interrupted('the subscriber unsubscribed'), false);
    };
  }

  /**
   * Cancels the streamed send in flight (IPWorks' Interrupt); its progress Observable errors
   * with `ERR_INTERRUPTED`. Before its first fragment nothing is sent; after, the connection is
   * closed with 1011 "send interrupted". Returns false when no streamed send was in flight.
   */
  interrupt(): boolean {
    const active = this.outbound.activeTransfer;
    if (!(active instanceof StreamTransfer)) return false;
    this.extras?.transfers?.delete(active);
    active.cancel(this.interrupted('interrupt() was called'), true);
    return true;
  }

  private interrupted(why: string): SendError {
    return new SendError(
      'ERR_INTERRUPTED',
      `streamed send on connection ${this.id} cancelled: ${why}`,
      {
        connectionId: this.id,
      },
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
   * connection closed; safe to call in any state.
   * @throws {InvalidArgumentError} for a code a server may not send or a reason that is too long.
   */
  disconnect(code?: number, reason?: string): Promise<CloseInfo> {
    const closeCode = code ?? this.ctx.disconnectStatusCode ?? CloseCode.NORMAL;
    const closeReason = reason ?? this.ctx.disconnectStatusDescription;
    assertCloseArgs('close', closeCode, closeReason);
    this.startClose(closeCode, closeReason, this.ctx.waitForCloseResponse);
    return this.whenClosed();
  }

  /** Destroys the socket at once, without a close frame. Resolves when it is closed. */
  terminate(): Promise<CloseInfo> {
    if (this._state !== 'CLOSED') this.ws.terminate();
    return this.whenClosed();
  }

  private whenClosed(): Promise<CloseInfo> {
    return (this.own.closedPromise ??= new Promise((resolve) => this.closed$.subscribe(resolve)));
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

  /** @internal one send dropped or refused by the overflow policy. */
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

  /** @internal */
  overflowError(code: 'ERR_WOULD_BLOCK' | 'ERR_DROPPED'): SendError {
    return new SendError(
      code,
      code === 'ERR_DROPPED'
        ? `connection ${this.id}: send dropped, the send queue was full (${this.outbound.policy})`
        : `connection ${this.id}: send queue full (maxQueue ${this.outbound.limit.messages} messages, ${this.outbound.limit.bytes} bytes)`,
      { connectionId: this.id },
    );
  }

  /** @internal what `sink.error()` and `sink.complete()` do. */
  closeFromSink(code: number): void {
    this.startClose(code, '', this.ctx.waitForCloseResponse);
  }

  /** @internal what `sink.next()` does. */
  /**
   * @internal one message of `server.broadcast()`, framed once for every connection; sent as
   * `sink.next()` sends. False when the connection is not open (nothing is reported).
   */
  sendBroadcast(
    frame: Buffer | [Buffer, Buffer],
    payload: Buffer | string,
    binary: boolean,
    bytes: number,
  ): boolean {
    if (this._state !== 'OPEN' || this.ws.readyState !== WS_OPEN) return false;
    this.outbound.sendEncoded(frame, payload, binary, bytes);
    return true;
  }

  sinkNext(value: OutboundData): void {
    // The common cases first, without the tuple and try/catch of normalize().
    if (this._state === 'OPEN' && this.ws.readyState === WS_OPEN) {
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
          {
            connectionId: this.id,
            cause: err,
          },
        ),
      );
      return;
    }
    if (this.state !== 'OPEN') {
      const err = this.notOpen();
      this.ctx.logger.log({
        level: 1,
        type: 'send-after-close',
        message: `connection ${this.id}: ${Buffer.byteLength(payload)} bytes reached the sink after close and were not sent`,
        connectionId: this.id,
        code: err.code,
      });
      this.report(err);
      return;
    }
    this.outbound.send(payload, binary);
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
    if (this._state !== 'OPEN') return;
    this._state = 'CLOSING';
    this.own.closeSent = { code, reason };
    if (discardQueued) this.outbound.failQueued(discardQueued);
    if (this.outbound.idle) {
      this.sendClose(code, reason, wait);
      return;
    }
    // Sends made before the close go out before the close frame (RFC 6455 section 5.5.1), but a
    // client that reads nothing must not hold the close forever: closeTimeout bounds the wait.
    const giveUp = setTimeout(() => this.ws.terminate(), this.ctx.closeTimeout);
    this.outbound.whenQueueEmpty().then(() => {
      clearTimeout(giveUp);
      if (!this.closedInfo) this.sendClose(code, reason, wait);
    });
  }

  private sendClose(code: number, reason: string, wait: boolean): void {
    this.ws.close(code, reason);
    // Without waiting, the socket ends once the close frame is written: end() queues the FIN
    // behind it, and destroySoon() destroys the socket when the write side is finished.
    if (!wait) this.socket.destroySoon();
  }

  private notOpen(): SendError {
    return new SendError('ERR_NOT_OPEN', `connection ${this.id} is not open (${this.state})`, {
      connectionId: this.id,
    });
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

  private startWatchdog(): void {
    // Every drain of the socket is progress: it restarts the wait.
    const extras = this.own;
    this.outbound.onProgress ??= () => extras.watchdog?.refresh();
    if (extras.watchdog) return;
    extras.watchdog = setTimeout(() => this.timedOut(), this._timeout * 1000);
  }

  private stopWatchdog(): void {
    const extras = this.extras;
    if (!extras?.watchdog) return;
    clearTimeout(extras.watchdog);
    extras.watchdog = undefined;
  }

  private timedOut(): void {
    const extras = this.own;
    extras.watchdog = undefined;
    const timedOut = [...(extras.pending ?? [])];
    extras.pending?.clear();
    for (const entry of timedOut) {
      const withdrawn = entry.queued.withdraw();
      entry.reject(
        new SendError(
          'ERR_TIMEOUT',
          `send on connection ${this.id} made no progress for ${this._timeout} s` +
            (withdrawn
              ? '; nothing of it was sent'
              : '; it may still be delivered if the client reads again'),
          { connectionId: this.id },
        ),
      );
    }
  }

  /**
   * @internal one piece of a message from the receiver (`bytes`: its size on the wire, after
   * inflating). To `fragments$`; to the reassembly when someone wants whole messages
   * (`bufferMessage` option, or a subscriber of `messages$`); to the server's `messages$`.
   */
  handlePiece(data: Buffer | string, binary: boolean, eom: boolean, bytes: number): void {
    this.bytesIn += bytes;
    const piece: Message = { connection: this, data, format: binary ? 'binary' : 'text', eom };
    this.fragments?.next(piece);
    if (!this.ctx.bufferMessage) this.ctx.onMessage(piece);
    // Reassembly starts at a message's first piece: one that starts mid-message would deliver
    // a truncated message as whole.
    const firstPiece = !this.inMessage;
    this.inMessage = !eom;
    if (firstPiece) this.reassembling = this.ctx.bufferMessage || this.messages?.observed === true;
    if (!this.reassembling) {
      if (eom) this.messagesIn++;
      return;
    }
    let whole: Message | undefined;
    try {
      whole = (this.reassembler_ ??= new Reassembler(
        this.ctx.maxPayload,
        this.ctx.maxFragments,
      )).push(piece, bytes);
    } catch (err) {
      this.reassembling = false;
      this.failInbound(err as ConnectionError);
      return;
    }
    if (!whole) return;
    this.messagesIn++;
    this.messages?.next(whole);
    if (this.ctx.bufferMessage) this.ctx.onMessage(whole);
  }

  /** A message over maxPayload or maxFragments: the connection closes with the error's code. */
  private failInbound(err: ConnectionError): void {
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
    this.handleFailure(error);
  }

  /** @internal */
  handlePong(data: Buffer): void {
    this.extras?.pongs?.next(data);
  }

  /** @internal */
  handleError(err: Error): void {
    // ws emits 'error' once per WebSocket and closes the connection itself with the mapped code.
    this.handleFailure(toConnectionError(err, this.id));
  }

  private handleFailure(error: ConnectionError): void {
    this.own.failure = error;
    if (this._state === 'OPEN') this._state = 'CLOSING';
    this.ctx.logger.log({
      level: 1,
      type: 'error',
      message: `connection ${this.id} failed: ${error.message}`,
      connectionId: this.id,
      code: error.code,
    });
    this.report(error);
  }

  /** @internal */
  handleClose(code: number, reasonBuffer: Buffer): void {
    this._state = 'CLOSED';
    this.stopWatchdog();
    const received = code !== CloseCode.ABNORMAL;
    const extras = this.extras;
    const closeSent = extras?.closeSent;
    const failure = extras?.failure;
    const info: CloseInfo = {
      code: received ? code : (closeSent?.code ?? failure?.closeCode ?? code),
      reason: received ? reasonBuffer.toString() : (closeSent?.reason ?? ''),
      wasClean: received,
      ...(failure ? { error: failure } : {}),
    };
    this.closedInfo = info;
    streamingReceiverOf(this.ws).releaseInflater();

    extras?.pending?.clear();
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
    if (extras?.transfers) {
      const failed = this.notOpen();
      for (const transfer of extras.transfers) transfer.cancel(failed, true);
      extras.transfers.clear();
    }
    this.messages?.complete();
    this.fragments?.complete();
    this.reassembler_?.reset();
    extras?.pongs?.complete();
    extras?.errors?.complete();
    extras?.readyStream?.complete();
  }
}

/** What a connection holds only once it is used: streams asked for, sends with a timeout, close details. */
class ConnectionExtras {
  pongs: HotStream<Buffer> | undefined = undefined;
  errors: HotStream<RxwsError> | undefined = undefined;
  closedWaiters: HotStream<CloseInfo> | undefined = undefined;
  readyStream: HotStream<boolean> | undefined = undefined;
  readyToSend$: Observable<boolean> | undefined = undefined;
  closed$: Observable<CloseInfo> | undefined = undefined;
  closedPromise: Promise<CloseInfo> | undefined = undefined;
  /** Sends waiting under a timeout (`defaultTimeout`), and their watchdog. */
  pending: Set<{ queued: QueuedSend; reject: (err: Error) => void }> | undefined = undefined;
  watchdog: NodeJS.Timeout | undefined = undefined;
  closeSent: { code: number; reason: string } | undefined = undefined;
  failure: RxwsError | undefined = undefined;
  timesPaused = 0;
  drops: Record<OverflowPolicy, number> | undefined = undefined;
  transfers: Set<StreamTransfer> | undefined = undefined;
  transferOwner: TransferOwner | undefined = undefined;
}

/** The connection's Observer side; a class, so an idle connection pays for no closures. */
class ConnectionSink implements Observer<OutboundData> {
  constructor(private readonly connection: Connection) {}

  next(value: OutboundData): void {
    this.connection.sinkNext(value);
  }

  error(err: unknown): void {
    const code = (err as { closeCode?: unknown } | null)?.closeCode;
    this.connection.closeFromSink(
      typeof code === 'number' && isValidCloseCode(code) ? code : CloseCode.INTERNAL_ERROR,
    );
  }

  complete(): void {
    this.connection.closeFromSink(CloseCode.NORMAL);
  }
}

/** Lets a streamed send close the connection it cannot complete. */
class TransferReporter implements TransferOwner {
  constructor(private readonly connection: Connection) {}

  get connectionId(): string {
    return this.connection.id;
  }

  abandon(err: SendError): void {
    this.connection.abandonTransfer(err);
  }
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
function onWsClose(this: OwnedWebSocket, code: number, reason: Buffer): void {
  this[kConnection]!.handleClose(code, reason);
}

function completedStream<T>(): HotStream<T> {
  const stream = new HotStream<T>();
  stream.complete();
  return stream;
}

/** Turns what a user sends into ws's arguments. @throws {InvalidArgumentError} */
export function normalize(
  data: OutboundData,
  format: MessageFormat | undefined,
): [Buffer | string, boolean] {
  if (typeof data === 'string') {
    return format === 'binary' ? [Buffer.from(data), true] : [data, false];
  }
  if (Buffer.isBuffer(data)) return [data, format !== 'text'];
  if (data instanceof Uint8Array) {
    return [Buffer.from(data.buffer, data.byteOffset, data.byteLength), format !== 'text'];
  }
  if (data instanceof ArrayBuffer) return [Buffer.from(data), format !== 'text'];
  if (data !== null && typeof data === 'object' && 'data' in data) {
    if (data.format !== 'text' && data.format !== 'binary') {
      throw new InvalidArgumentError(`format must be "text" or "binary", got ${show(data.format)}`);
    }
    return normalize(data.data, data.format);
  }
  throw new InvalidArgumentError(
    `cannot send ${show(data)}: expected a string, Buffer, Uint8Array or ArrayBuffer`,
  );
}
