import { SendError } from '../errors';
import type { Clock, TimerHandle } from '../util/clock';
import type { Outbound, QueuedSend } from './outbound';

/** A send waiting under a timeout: its handle in the queue and how to fail it. */
export interface TimedSend {
  queued: QueuedSend;
  reject(err: Error): void;
}

/**
 * The send timeout (IPWorks' Timeout): the sends of one connection waiting under `timeout`
 * seconds, and the one watchdog that fails them with `ERR_TIMEOUT` when the connection makes no
 * progress for that long. Every drain of the socket is progress and restarts the wait. A send
 * still queued when it times out is withdrawn (nothing of it is sent). Made at the first send
 * with a timeout: a connection that never uses one does without.
 */
export class SendTimeouts {
  private readonly pending = new Set<TimedSend>();
  private watchdog: TimerHandle | undefined = undefined;

  constructor(
    private readonly outbound: Outbound,
    private readonly connectionId: string,
    /** The connection's `timeout` in seconds, as it is now. */
    private readonly seconds: () => number,
    /** What times the watchdog: Node's timers, or the `scheduler` option. */
    private readonly clock: Clock,
  ) {}

  /** Watches `entry` until it settles; the wait is the connection's `timeout` when it starts. */
  watch(entry: TimedSend): void {
    this.pending.add(entry);
    this.outbound.onProgress ??= () => {
      if (this.watchdog) this.clock.refresh(this.watchdog);
    };
    this.watchdog ??= this.clock.setTimeout(timedOut, this.seconds() * 1000, this);
  }

  /** `entry` was sent (or failed): no longer watched. */
  settled(entry: TimedSend): void {
    this.pending.delete(entry);
    if (this.pending.size === 0) this.stop();
  }

  /** The connection closed: nothing more to watch. */
  stop(): void {
    this.pending.clear();
    this.clock.clear(this.watchdog);
    this.watchdog = undefined;
  }

  /** @internal the watchdog fired: every send watched fails. */
  timedOut(): void {
    this.watchdog = undefined;
    const timedOut = [...this.pending];
    this.pending.clear();
    for (const entry of timedOut) {
      const withdrawn = entry.queued.withdraw();
      entry.reject(
        new SendError(
          'ERR_TIMEOUT',
          `send on connection ${this.connectionId} made no progress for ${this.seconds()} s` +
            (withdrawn
              ? '; nothing of it was sent'
              : '; it may still be delivered if the client reads again'),
          { connectionId: this.connectionId },
        ),
      );
    }
  }
}

function timedOut(timeouts: SendTimeouts): void {
  timeouts.timedOut();
}
