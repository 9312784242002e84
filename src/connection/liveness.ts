import { ConnectionError } from '../errors';
import { CloseCode } from '../protocol/close-codes';
import { nodeClock, type Clock, type TimerHandle } from '../util/clock';

/** Automatic pings with a pong deadline. */
export interface HeartbeatOptions {
  /** Ms without a byte from the client after which a ping is sent. */
  readonly interval: number;
  /** Ms after a ping within which some byte (the pong, or anything) must arrive. */
  readonly timeout: number;
}

/** What liveness reads of the server's options. */
export interface LivenessSettings {
  readonly heartbeat: false | HeartbeatOptions;
  readonly idleTimeout: number;
}

/** A connection as liveness sees it: its byte count in, and what it does about silence. */
export interface LivenessTarget {
  /** Bytes read from the socket so far (any frame: data, ping, pong, close). */
  readonly bytesRead: number;
  /** True while the application does not read (`pause()`, `flowControl()`): not silence. */
  readonly paused: boolean;
  /** Liveness' own per-connection state (plain numbers on the connection: no object each). */
  livenessBytes: number;
  quietTicks: number;
  /** Ticks since the heartbeat's ping, or -1 when none is awaited. */
  pongTicks: number;
  /** Sends a heartbeat ping (in order with data frames, never inside one). */
  sendHeartbeat(): void;
  /** No byte within the pong deadline: the connection fails with `error`. */
  heartbeatFailed(error: ConnectionError): void;
  /** No byte for `idleTimeout`: the connection closes with 1001 "idle timeout". */
  idleTimedOut(): void;
}

/**
 * Liveness of open connections: one timer for the whole server (no timer per connection) that
 * looks at each connection's bytes read, which Node counts anyway, so receiving costs nothing
 * more. A connection from which nothing arrived for `heartbeat.interval` gets a ping; if still
 * nothing arrives within `heartbeat.timeout`, it fails with `ERR_TIMEOUT` and closes (1001
 * "heartbeat timeout", without waiting for the peer). With no byte for `idleTimeout`, it closes
 * with 1001 "idle timeout" (the closing handshake, bounded by `closeTimeout`). A client that
 * answers pings is never idle: the idle timeout then only catches clients that ignore pings,
 * or every quiet client when `heartbeat` is false. Deadlines are kept to within one tick, a
 * quarter of the shortest of the three durations.
 */
export class Liveness {
  /** The tick in ms. */
  readonly tick: number;
  private timer: TimerHandle | undefined = undefined;

  constructor(
    private readonly settings: LivenessSettings,
    private readonly targets: () => Iterable<LivenessTarget>,
    /** What times the sweeps: Node's timers, or the `scheduler` option. */
    private readonly clock: Clock = nodeClock,
  ) {
    const { heartbeat, idleTimeout } = settings;
    const spans = [
      ...(heartbeat ? [heartbeat.interval, heartbeat.timeout] : []),
      ...(idleTimeout > 0 ? [idleTimeout] : []),
    ];
    this.tick = spans.length === 0 ? 0 : Math.max(10, Math.floor(Math.min(...spans) / 4));
  }

  /** True when there is anything to watch (a heartbeat or an idle timeout). */
  get enabled(): boolean {
    return this.tick > 0;
  }

  /** Starts the timer, if it is not running; it never keeps the process alive by itself. */
  start(): void {
    if (!this.enabled || this.timer) return;
    this.timer = this.clock.setInterval(() => this.sweep(), this.tick);
  }

  stop(): void {
    this.clock.clear(this.timer);
    this.timer = undefined;
  }

  /** One look at every open connection. */
  sweep(): void {
    const { heartbeat, idleTimeout } = this.settings;
    const tick = this.tick;
    for (const target of this.targets()) {
      const read = target.bytesRead;
      // A connection the application does not read from is not silent, only unread.
      if (read !== target.livenessBytes || target.paused) {
        target.livenessBytes = read;
        target.quietTicks = 0;
        target.pongTicks = -1;
        continue;
      }
      const quiet = ++target.quietTicks * tick;
      if (idleTimeout > 0 && quiet >= idleTimeout) {
        target.idleTimedOut();
        continue;
      }
      if (!heartbeat) continue;
      if (target.pongTicks >= 0) {
        if (++target.pongTicks * tick >= heartbeat.timeout) {
          target.pongTicks = -1;
          target.heartbeatFailed(
            new ConnectionError(
              'ERR_TIMEOUT',
              `no answer to a ping within ${heartbeat.timeout} ms`,
              { closeCode: CloseCode.GOING_AWAY },
            ),
          );
        }
      } else if (quiet >= heartbeat.interval) {
        target.pongTicks = 0;
        target.sendHeartbeat();
      }
    }
  }
}
