import { invalidOption } from '../errors';

/** What happens to a value that would grow a bounded queue past its bound. */
export type OverflowPolicy = 'drop-newest' | 'drop-oldest' | 'close' | 'error';

/** The bound of a queue of values waiting for ReadyToSend. */
export interface QueueLimit {
  /** Payload bytes the queue may hold. */
  readonly bytes: number;
  /** Messages the queue may hold. */
  readonly messages: number;
}

/** True for one of the four overflow policies. */
export function isOverflowPolicy(value: unknown): value is OverflowPolicy {
  return (
    value === 'error' || value === 'drop-newest' || value === 'drop-oldest' || value === 'close'
  );
}

/**
 * Checks a queue bound (`{ bytes?, messages? }`, missing parts from `base`).
 * @throws {InvalidOptionError} naming `name.bytes` or `name.messages`.
 */
export function checkQueueLimit(name: string, value: unknown, base: QueueLimit): QueueLimit {
  if (value === undefined) return base;
  if (value === null || typeof value !== 'object')
    invalidOption(name, '{ bytes?, messages? }', value);
  const v = value as Record<string, unknown>;
  const part = (key: 'bytes' | 'messages'): number => {
    const n = v[key];
    if (n === undefined) return base[key];
    if (typeof n !== 'number' || !(Number.isInteger(n) || n === Infinity) || n < 0) {
      invalidOption(`${name}.${key}`, 'a non-negative integer or Infinity', n);
    }
    return n;
  };
  return Object.freeze({ bytes: part('bytes'), messages: part('messages') });
}

/** One value waiting in a `HoldQueue`. */
export interface Held<T> {
  readonly value: T;
  /** The value's size in bytes, as counted against `QueueLimit.bytes`. */
  readonly bytes: number;
  /** Set when the value left the queue without being taken (withdrawn or evicted). */
  cancelled: boolean;
}

/**
 * Told about each value the policy did not keep: `policy` is the policy as applied to that value
 * (`'drop-oldest'` for a value evicted from the front; `'drop-newest'` for a new value that
 * `'drop-oldest'` could not make room for, because it is larger than the whole bound),
 * `evicted` is true for a value that was queued before.
 */
export type OverflowListener<T> = (held: Held<T>, policy: OverflowPolicy, evicted: boolean) => void;

export const UNBOUNDED: QueueLimit = Object.freeze({ bytes: Infinity, messages: Infinity });

/**
 * The bounded, ordered queue behind ReadyToSend: values wait here while their consumer is not
 * ready and leave in order when it is. One implementation for the connection's send queue
 * (`Outbound`) and for the `followReadyToSend()` operator.
 *
 * `offer()` applies the overflow policy when a value does not fit:
 * - `'drop-newest'`: the new value is not queued;
 * - `'drop-oldest'`: values are evicted from the front until it fits (a value larger than the
 *   whole bound is not queued, and nothing is evicted for it);
 * - `'error'` and `'close'`: the new value is not queued; what that means (a rejected send, a
 *   closed connection, an errored stream) is the owner's business.
 */
export class HoldQueue<T> {
  // Taken slots are cleared at once: a queue that stays full must not keep what left it.
  private items: Array<Held<T> | undefined> = [];
  private head = 0;
  private live = 0;
  /** Bytes of the values queued now. */
  bytes = 0;
  /** The most bytes the queue has held. */
  peakBytes = 0;

  constructor(
    private readonly onOverflow: OverflowListener<T>,
    public limit: QueueLimit = UNBOUNDED,
    public policy: OverflowPolicy = 'error',
  ) {}

  /** Number of values queued now. */
  get length(): number {
    return this.live;
  }

  /** Queues `value` (of `bytes` bytes) if the policy lets it; undefined when it was not queued. */
  offer(value: T, bytes: number): Held<T> | undefined {
    const held: Held<T> = { value, bytes, cancelled: false };
    if (!this.fits(bytes)) {
      const limit = this.limit;
      const couldFit = bytes <= limit.bytes && limit.messages >= 1;
      if (this.policy === 'drop-oldest' && couldFit) {
        while (!this.fits(bytes)) this.evictOldest();
      } else {
        this.onOverflow(held, this.policy === 'drop-oldest' ? 'drop-newest' : this.policy, false);
        return undefined;
      }
    }
    this.items.push(held);
    this.live++;
    this.bytes += bytes;
    if (this.bytes > this.peakBytes) this.peakBytes = this.bytes;
    return held;
  }

  /** Takes the oldest value out of the queue; undefined when it is empty. */
  shift(): Held<T> | undefined {
    const items = this.items;
    while (this.head < items.length) {
      const held = items[this.head];
      items[this.head++] = undefined;
      if (!held || held.cancelled) continue;
      this.taken(held);
      if (this.live === 0) this.reset();
      else if (this.head > 1024 && this.head * 2 > items.length) this.compact();
      return held;
    }
    this.reset();
    return undefined;
  }

  /** Takes `held` out of the queue without delivering it; false when it is no longer queued. */
  withdraw(held: Held<T>): boolean {
    if (held.cancelled || this.items.indexOf(held, this.head) === -1) return false;
    held.cancelled = true;
    this.taken(held);
    return true;
  }

  /** Withdraws the first queued value `match` accepts; false when there is none. */
  withdrawWhere(match: (value: T) => boolean): boolean {
    for (let i = this.head; i < this.items.length; i++) {
      const held = this.items[i];
      if (held && !held.cancelled && match(held.value)) {
        held.cancelled = true;
        this.taken(held);
        return true;
      }
    }
    return false;
  }

  /** Empties the queue; returns the values it held, oldest first. */
  clear(): Held<T>[] {
    const rest = this.items
      .slice(this.head)
      .filter((held): held is Held<T> => held !== undefined && !held.cancelled);
    for (const held of rest) held.cancelled = true;
    this.reset();
    this.live = 0;
    this.bytes = 0;
    return rest;
  }

  private fits(bytes: number): boolean {
    return this.live + 1 <= this.limit.messages && this.bytes + bytes <= this.limit.bytes;
  }

  private evictOldest(): void {
    const held = this.shift();
    if (!held) return;
    held.cancelled = true;
    this.onOverflow(held, 'drop-oldest', true);
  }

  private taken(held: Held<T>): void {
    this.live--;
    this.bytes -= held.bytes;
  }

  /** Drops the slots already taken, so a queue that never empties does not grow. */
  private compact(): void {
    this.items = this.items.slice(this.head);
    this.head = 0;
  }

  private reset(): void {
    if (this.head === 0 && this.items.length === 0) return;
    this.items = [];
    this.head = 0;
  }
}
