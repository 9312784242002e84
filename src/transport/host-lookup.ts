import { lookup as dnsLookup } from 'node:dns/promises';
import {
  catchError,
  concat,
  defer,
  EMPTY,
  exhaustMap,
  forkJoin,
  interval,
  map,
  of,
  Subscription,
  take,
  throwIfEmpty,
  type Observable,
  type ObservableInput,
  type SchedulerAction,
  type SchedulerLike,
} from 'rxjs';
import { describeError } from '../errors';
import type { LogEntry } from '../logs';
import type { AllowList } from './allow-list';

/**
 * Keeping the host names of an allow-list resolved: a lookup of each when asked to start, then
 * one every `refresh` ms. A failed lookup keeps the addresses of the last one that answered (a
 * host name never resolved allows nobody).
 */

/** How often host names are looked up again, in ms: `allowedClientsRefresh`'s default. */
export const DEFAULT_HOST_REFRESH = 60_000;

/** Looks up a host name: all its addresses (IPv4 and IPv6 text), as a Promise or Observable. */
export type HostLookupFunction = (host: string) => ObservableInput<readonly string[]>;

/** What one lookup of a host name gave. */
export interface HostLookup {
  /** The host name, as the allow-list gives it. */
  readonly host: string;
  /**
   * The addresses it allows now: the ones just found, or after a failure those of the last
   * lookup that answered (empty: it has never been resolved, and allows nobody).
   */
  readonly addresses: readonly string[];
  /** True when this lookup changed `addresses`. */
  readonly changed: boolean;
  /** Why the lookup failed; absent when it answered. */
  readonly error?: Error;
}

/** How host names are looked up and when. */
export interface HostLookupOptions {
  /** Default `lookupAll` (Node's `dns.lookup()`, all addresses). */
  readonly lookup?: HostLookupFunction;
  /** Ms between two lookups of the host names; 0: only the first. Default 60000. */
  readonly refresh?: number;
  /** What times the refresh. Default `unrefScheduler`: timers that keep no process alive. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Node's `dns.lookup(host, { all: true })`: the addresses the operating system resolves a name
 * to (the hosts file, then DNS), in the order it gives them.
 */
export async function lookupAll(host: string): Promise<readonly string[]> {
  return (await dnsLookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/**
 * Keeps the host names of `list` resolved while subscribed: looks each one up at once, then
 * every `refresh` ms (a lookup still running then is not started again), and sets the addresses
 * of each that answers on `list`. Emits each round's results once every lookup of the round has
 * answered or failed; never errors. Empty when `list` has no host name.
 */
export function hostLookups(
  list: AllowList,
  options: HostLookupOptions = {},
): Observable<readonly HostLookup[]> {
  const {
    lookup = lookupAll,
    refresh = DEFAULT_HOST_REFRESH,
    scheduler = unrefScheduler,
  } = options;
  if (list.hosts.length === 0) return EMPTY;
  const lookupOne = (host: string): Observable<HostLookup> =>
    defer(() => lookup(host)).pipe(
      take(1),
      throwIfEmpty(() => new Error(`the lookup of "${host}" gave no answer`)),
      map((addresses): HostLookup => {
        const changed = list.setAddresses(host, addresses);
        return { host, addresses: list.addressesOf(host)!, changed };
      }),
      catchError((err: unknown) =>
        of<HostLookup>({
          host,
          addresses: list.addressesOf(host) ?? [],
          changed: false,
          error: err instanceof Error ? err : new Error(describeError(err)),
        }),
      ),
    );
  const round = () => forkJoin(list.hosts.map(lookupOne));
  const ticks = refresh > 0 ? concat(of(0), interval(refresh, scheduler)) : of(0);
  return ticks.pipe(exhaustMap(round));
}

/**
 * The log entry of a lookup: an `allow-list` entry at info level when it failed, at verbose
 * level when it changed the addresses; none when it found the same ones again.
 */
export function hostLookupEntry(result: HostLookup): LogEntry | undefined {
  const { host, addresses, error } = result;
  if (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      level: 1,
      type: 'allow-list',
      host,
      addresses,
      code: typeof code === 'string' ? code : 'ERR_LOOKUP',
      message: `allowedClients: looking up "${host}" failed (${describeError(error)}); ${
        addresses.length > 0 ? `it still allows ${addresses.join(', ')}` : 'it allows nobody'
      }`,
    };
  }
  if (!result.changed) return undefined;
  return {
    level: 2,
    type: 'allow-list',
    host,
    addresses,
    message: `allowedClients: "${host}" allows ${addresses.join(', ')}`,
  };
}

/**
 * An RxJS scheduler on Node timers that are unref'd, so a pending refresh never keeps the
 * process alive; unsubscribing clears the timer.
 */
export const unrefScheduler: SchedulerLike = {
  now: () => Date.now(),
  schedule<T>(
    work: (this: SchedulerAction<T>, state?: T) => void,
    delay = 0,
    state?: T,
  ): Subscription {
    return new UnrefAction<T>(work).schedule(state, delay);
  },
};

/** One piece of work of `unrefScheduler`; `work` may schedule it again (how `interval` repeats). */
class UnrefAction<T> extends Subscription implements SchedulerAction<T> {
  private timeout: NodeJS.Timeout | undefined;

  constructor(private readonly work: (this: SchedulerAction<T>, state?: T) => void) {
    super();
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    clearTimeout(this.timeout);
    this.timeout = setTimeout(() => {
      this.timeout = undefined;
      this.work(state);
    }, delay);
    this.timeout.unref();
    return this;
  }

  override unsubscribe(): void {
    clearTimeout(this.timeout);
    this.timeout = undefined;
    super.unsubscribe();
  }
}
