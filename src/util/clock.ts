import type { SchedulerLike, Subscription } from 'rxjs';

/** A timer a `Clock` made: opaque to its users, who only hand it back. */
export type TimerHandle = object;

/**
 * What times rxws's own timers (handshake, close wait, send timeout, heartbeat and idle): Node's
 * timers by default, or an RxJS scheduler (the `scheduler` option), so that a `TestScheduler`
 * or `VirtualTimeScheduler` moves them in virtual time.
 */
export interface Clock {
  /** Calls `callback(arg)` once, after `ms`. */
  setTimeout<A>(callback: (arg: A) => void, ms: number, arg: A): TimerHandle;
  /** Starts the wait of a running timeout again, from now. */
  refresh(handle: TimerHandle): void;
  /** Stops a timeout or an interval (nothing for `undefined` or one that has fired). */
  clear(handle: TimerHandle | undefined): void;
  /** Calls `callback` every `ms`; it never keeps the process alive by itself. */
  setInterval(callback: () => void, ms: number): TimerHandle;
}

/**
 * Node's timers, handed out as they are: no object more per timer than Node makes, so the
 * default costs what `setTimeout()` costs.
 */
export const nodeClock: Clock = {
  setTimeout: (callback, ms, arg) => setTimeout(callback, ms, arg),
  refresh: (handle) => (handle as NodeJS.Timeout).refresh(),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
  setInterval: (callback, ms) => setInterval(callback, ms).unref(),
};

/** A timeout on a scheduler: what it calls, so that `refresh()` can schedule it again. */
class ScheduledTimeout {
  subscription: Subscription;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly fire: () => void,
    private readonly ms: number,
  ) {
    this.subscription = scheduler.schedule(fire, ms);
  }

  refresh(): void {
    this.subscription.unsubscribe();
    this.subscription = this.scheduler.schedule(this.fire, this.ms);
  }
}

/** rxws's timers on an RxJS scheduler (a `TestScheduler` in marble tests). */
export function schedulerClock(scheduler: SchedulerLike): Clock {
  return {
    setTimeout: (callback, ms, arg) => new ScheduledTimeout(scheduler, () => callback(arg), ms),
    refresh: (handle) => (handle as ScheduledTimeout).refresh(),
    clear: (handle) => {
      if (handle instanceof ScheduledTimeout) handle.subscription.unsubscribe();
      else (handle as Subscription | undefined)?.unsubscribe();
    },
    setInterval: (callback, ms) =>
      scheduler.schedule(function tick() {
        callback();
        this.schedule(undefined, ms);
      }, ms),
  };
}
