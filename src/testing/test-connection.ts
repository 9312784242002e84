import type { Socket } from 'node:net';
import { ReplaySubject, asyncScheduler, type Observable, type SchedulerLike } from 'rxjs';
import type { WebSocket } from 'ws';
import { Connection } from '../connection/connection';
import type { ConnectionContext } from '../connection/context';
import { Liveness } from '../connection/liveness';
import {
  normalize,
  type BinaryData,
  type MessageFormat,
  type OutboundData,
} from '../connection/outbound-data';
import type { ConnectionRequestDetails } from '../connection/types';
import { InvalidArgumentError, show, type RxwsError } from '../errors';
import { Logger, type LogEntry } from '../logs';
import { resolveOptions, type ServerOptions } from '../options';
import { memoryBackplane } from '../pubsub/backplane';
import { backplaneEntry } from '../pubsub/backplane-log';
import { Topics } from '../pubsub/topics';
import { assertCloseArgs } from '../protocol/close-codes';
import { schedulerClock } from '../util/clock';
import { FrameDecoder, type ReceivedFrame } from './received';
import { SimulatedSocket } from './simulated-socket';
import { SimulatedWebSocket } from './simulated-websocket';

/** Options of `testConnection()`. */
export interface TestConnectionOptions<TData = unknown> {
  /**
   * What times everything: rxws's timers (close wait, send timeout, heartbeat, idle timeout)
   * and the simulated socket's callbacks. Default `asyncScheduler`, which `TestScheduler.run()`
   * turns into virtual time.
   */
  scheduler?: SchedulerLike;
  /**
   * The server options that shape a connection (`maxQueue`, `overflow`, `outBufferSize`,
   * `bufferMessage`, `maxPayload`, `heartbeat`, `idleTimeout`, `closeTimeout`,
   * `waitForCloseResponse`, `defaultTimeout`, `maxFrameSize`, ...), checked as `createServer()`
   * checks them. Unlike a server's, `heartbeat` and `idleTimeout` are off unless given. Default:
   * the server defaults.
   */
  server?: Omit<ServerOptions, 'scheduler'>;
  /** The connection's `data`, as `onOpenRequest` would give it. Default `undefined`. */
  data?: TData;
  /** The connection's id. Default `'1'`. */
  id?: string;
  /** The negotiated subprotocol. Default `''`. */
  protocol?: string;
  /** The upgrade request, as `conn.request` shows it. Default: `GET /`, no headers. */
  request?: Partial<ConnectionRequestDetails>;
  /** The client's address and port. Default `'127.0.0.1'`, 50000. */
  remoteAddress?: string;
  remotePort?: number;
  /** Whether the client answers pings (heartbeats) with pongs. Default true. */
  answerPings?: boolean;
  /** Whether the client answers the server's close frame with its own. Default true. */
  answerClose?: boolean;
}

/** The simulated client of a `testConnection()`: what it sends, reads and received. */
export interface TestClient {
  /**
   * Sends a message: a string as text, bytes as binary (or `format`). With `fin: false` it is a
   * fragment, and the message goes on with the next `send()` (`eom` on `fragments$` at the one
   * with `fin` true). After the client's close frame, or once the socket has closed, what it
   * sends is dropped, as on a real connection.
   */
  send(data: string | BinaryData, options?: { format?: MessageFormat; fin?: boolean }): void;
  /** Sends every value of `messages$` as a message, as it comes (marbles of what the client says). */
  sendAll(messages$: Observable<string | BinaryData>): void;
  /** Sends a ping; the server answers with a pong (on `frames$`). */
  ping(data?: string | Buffer): void;
  /** Sends a pong the server did not ask for (it arrives on `conn.pongs$`). */
  pong(data?: string | Buffer): void;
  /**
   * Sends a close frame (`code` omitted: one without a code, seen as 1005); the server answers
   * with its own and the connection closes cleanly.
   */
  close(code?: number, reason?: string): void;
  /** The TCP connection goes away without a close frame: the connection closes with 1006. */
  drop(): void;
  /**
   * Whether the client reads. While it does not, what the server writes waits in the socket's
   * buffer (`conn.bufferedAmount`), `readyToSend$` turns false past `outBufferSize` and sends
   * wait in the connection's queue under `maxQueue` and `overflow`; reading again takes in
   * everything written, then the queue moves. Default true.
   */
  reading: boolean;
  /**
   * While the client does not read (`reading` false), reads at most `bytes` of what waits: a
   * reading speed, scripted with marbles (`interval(10).subscribe(() => client.read(1024))` is
   * 100 KiB/s). The writes read whole complete; the queue moves once the buffer is below
   * `outBufferSize`.
   */
  read(bytes: number): void;
  /**
   * Everything the client received, in order: messages, pings, pongs, the close frame
   * (`ReceivedFrame`). Replays from the start, so `expectObservable()` sees items from frame 0;
   * completes when the socket has closed.
   */
  readonly frames$: Observable<ReceivedFrame>;
  /** The data messages the client received (strings and Buffers), as `frames$` replays them. */
  readonly messages$: Observable<string | Buffer>;
  /** What the client has received so far. */
  readonly received: readonly ReceivedFrame[];
}

/** A real rxws connection over an in-memory socket, with its simulated client. */
export interface TestConnection<TData = unknown> {
  /** The connection to hand to the code under test: rxws's own, not a stand-in. */
  readonly connection: Connection<TData>;
  readonly client: TestClient;
  /** What the server's `errors$` would carry for this connection (replayed from the start). */
  readonly errors$: Observable<RxwsError>;
  /** What the server's `logs$` would carry for this connection (replayed from the start). */
  readonly logs$: Observable<LogEntry>;
  /** Publishes on a topic, as `server.publish()`: sent if the connection subscribed to it. */
  publish(topic: string, data: OutboundData, options?: { format?: MessageFormat }): number;
}

class SimulatedClient implements TestClient {
  readonly received: ReceivedFrame[] = [];
  private readonly frames = new ReplaySubject<ReceivedFrame>();
  private readonly data = new ReplaySubject<string | Buffer>();
  readonly frames$ = this.frames.asObservable();
  readonly messages$ = this.data.asObservable();
  private readonly decoder = new FrameDecoder();
  private closeSent = false;
  private readingNow = true;
  ws!: SimulatedWebSocket;
  socket!: SimulatedSocket;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly answerPings: boolean,
    private readonly answerClose: boolean,
  ) {}

  get reading(): boolean {
    return this.readingNow;
  }

  set reading(on: boolean) {
    if (typeof on !== 'boolean') {
      throw new InvalidArgumentError(`client.reading must be a boolean, got ${show(on)}`);
    }
    this.readingNow = on;
    this.socket.setReading(on);
  }

  send(data: string | BinaryData, options: { format?: MessageFormat; fin?: boolean } = {}): void {
    const [payload, binary] = normalize(data as OutboundData, options.format);
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.ws.receive({ kind: 'data', data: bytes, binary, fin: options.fin ?? true });
  }

  sendAll(messages$: Observable<string | BinaryData>): void {
    messages$.subscribe((message) => this.send(message));
  }

  ping(data?: string | Buffer): void {
    this.ws.receive({ kind: 'ping', data: control(data) });
  }

  pong(data?: string | Buffer): void {
    this.ws.receive({ kind: 'pong', data: control(data) });
  }

  close(code?: number, reason = ''): void {
    if (code !== undefined) assertCloseArgs('client.close', code, reason);
    if (this.closeSent) return;
    this.closeSent = true;
    this.ws.receive({ kind: 'close', code, reason });
  }

  drop(): void {
    this.socket.destroy();
  }

  read(bytes: number): void {
    if (typeof bytes !== 'number' || !(bytes >= 0)) {
      throw new InvalidArgumentError(`client.read() takes a number of bytes, got ${show(bytes)}`);
    }
    this.socket.read(bytes);
  }

  /** Bytes the server wrote, as the client reads them. */
  receiveBytes(chunk: Buffer): void {
    for (const frame of this.decoder.push(chunk)) {
      this.received.push(frame);
      this.frames.next(frame);
      if (frame.type === 'message') this.data.next(frame.data);
      // A client answers at once, as far as virtual time goes: after what it is reading now.
      if (frame.type === 'ping' && this.answerPings) {
        this.scheduler.schedule(() => this.pong(frame.data));
      }
      if (frame.type === 'close' && this.answerClose && !this.closeSent) {
        this.scheduler.schedule(() => {
          if (this.closeSent) return;
          this.closeSent = true;
          this.ws.receive({
            kind: 'close',
            code: frame.code === 1005 ? undefined : frame.code,
            reason: frame.reason,
          });
        });
      }
    }
  }

  /** The socket has closed: nothing more arrives. */
  closed(): void {
    this.frames.complete();
    this.data.complete();
  }
}

function control(data: string | Buffer | undefined): Buffer {
  const payload = data === undefined ? Buffer.alloc(0) : Buffer.from(data);
  if (payload.length > 125) {
    throw new InvalidArgumentError('a control frame carries at most 125 bytes');
  }
  return payload;
}

/**
 * A real rxws `Connection` over an in-memory socket, driven by a simulated client, for testing
 * a connection handler with marbles: every part of the connection is rxws's own (sink, send
 * queue, overflow policies, ReadyToSend, reassembly, close handshake, heartbeat), only the
 * socket and the client are simulated, on a scheduler, so `TestScheduler.run()` runs it all in
 * virtual time.
 *
 * ```text
 * client.sendAll(hot('-a--b--|'))   a = 'hi', b = 'yo'
 * handler: conn.messages$.pipe(map(m => String(m.data).toUpperCase())).subscribe(conn.sink)
 * client.messages$:  '-A--B---'     A = 'HI', B = 'YO'
 * ```
 *
 * @example
 * ```ts
 * import { TestScheduler } from 'rxjs/testing';
 * import { map } from 'rxjs';
 * import { testConnection } from 'rxws/testing';
 *
 * const scheduler = new TestScheduler((a, e) => expect(a).toEqual(e));
 * scheduler.run(({ hot, expectObservable }) => {
 *   const { connection, client } = testConnection();
 *   connection.messages$.pipe(map((m) => String(m.data).toUpperCase())).subscribe(connection.sink);
 *   client.sendAll(hot('-a--b', { a: 'hi', b: 'yo' }));
 *   expectObservable(client.messages$).toBe('-A--B', { A: 'HI', B: 'YO' });
 * });
 * ```
 *
 * Simulated: the socket (its write buffer is the one the client has not read; there is no
 * kernel buffer beyond it), the client (it sends well-formed frames; answers pings and close
 * frames at once unless told not to), and the server around the connection (`publish()` here
 * reaches only this connection). A test with `heartbeat` or `idleTimeout` on must let the
 * connection close in it, as a test with `interval()` must unsubscribe: their timer otherwise
 * runs forever.
 *
 * @throws {InvalidOptionError} for a server option that is not valid, as `createServer()`.
 */
export function testConnection<TData = unknown>(
  options: TestConnectionOptions<TData> = {},
): TestConnection<TData> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const settings = resolveOptions({
    heartbeat: false,
    idleTimeout: 0,
    ...(options.server as ServerOptions | undefined),
  });
  const logger = new Logger(settings.logLevel);
  const logs = new ReplaySubject<LogEntry>();
  logger.logs$.subscribe(logs);
  const errors = new ReplaySubject<RxwsError>();
  const clock = schedulerClock(scheduler);
  const topics = new Topics<Connection>(memoryBackplane(), (event) =>
    logger.log(backplaneEntry(event)),
  );
  const client = new SimulatedClient(
    scheduler,
    options.answerPings ?? true,
    options.answerClose ?? true,
  );
  const socket = new SimulatedSocket(scheduler, (chunk) => client.receiveBytes(chunk));
  const ws = new SimulatedWebSocket(options.protocol ?? '', socket);
  client.ws = ws;
  client.socket = socket;

  const context: ConnectionContext = {
    settings,
    logger,
    topics,
    clock,
    onMessage: () => undefined,
    onError: (error) => errors.next(error),
    onClose: (closed) => {
      liveness.stop();
      topics.leaveAll(closed);
      client.closed();
    },
  };
  const request = options.request ?? {};
  const connection = new Connection<TData>({
    id: options.id ?? '1',
    ws: ws as unknown as WebSocket,
    socket: socket as unknown as Socket,
    endpoints: {
      remoteAddress: options.remoteAddress ?? '127.0.0.1',
      remotePort: options.remotePort ?? 50000,
      localAddress: '127.0.0.1',
      localPort: 8080,
    },
    request: {
      url: request.url ?? '/',
      host: request.host ?? '127.0.0.1:8080',
      origin: request.origin ?? '',
      headers: request.headers ?? {},
      subprotocols: request.subprotocols ?? [],
      extensions: request.extensions ?? [],
      tls: request.tls,
    },
    context,
    data: options.data,
  });
  const liveness = new Liveness(settings, () => (connection.connected ? [connection] : []), clock);
  liveness.start();

  return {
    connection,
    client,
    errors$: errors.asObservable(),
    logs$: logs.asObservable(),
    publish: (topic, data, publishOptions) => topics.publish(topic, data, publishOptions?.format),
  };
}
