import { filter, Observable, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { InvalidArgumentError, show } from '../errors';
import { allowListCheck, allowListOf } from '../transport/allow-list';
import { DEFAULT_HOST_REFRESH, hostLookups, type HostLookup } from '../transport/host-lookup';

/** Options of `allowedClients()`; they matter only when the list has host names. */
export interface AllowedClientsOptions {
  /**
   * Looks up a host name: all its addresses, as a Promise or an Observable (its first value
   * counts). Default: Node's `dns.lookup(host, { all: true })`.
   */
  lookup?: (host: string) => Promise<readonly string[]> | Observable<readonly string[]>;
  /** Ms between two lookups of each host name while subscribed; 0: only the first. Default 60000. */
  refresh?: number;
  /**
   * What times the refresh (a `TestScheduler` in marble tests). Default: Node timers that are
   * unref'd, so a pending refresh keeps no process alive.
   */
  scheduler?: SchedulerLike;
  /**
   * Called with the result of every lookup: the addresses the host name allows now, and `error`
   * when it failed. Default: none (a failure then shows only as refusals).
   */
  onLookup?: (result: HostLookup) => void;
}

/**
 * Passes the requests whose remote address is on the allow-list and drops the others, refusing
 * with `ERR_NOT_ALLOWED` those that have a `refuse()` method (IPWorks' AllowedClients).
 *
 * ```text
 * requests: --a--b--c--|      a = 10.0.0.7, b = 192.168.1.20, c = 10.1.2.3
 * allowedClients(['10.0.0.0/24', '192.168.1.*'])
 * result:   --a--b-----|      c.refuse(ERR_NOT_ALLOWED) is called as c is dropped
 *
 * With a host name, each subscription looks it up at once; requests wait for that first answer
 * (or failure), in order, then are checked against the addresses it gave:
 * requests: -ab-----c--|      a = 127.0.0.1, b = 10.1.2.3, c = 127.0.0.1
 * lookup:   ---x              x = ['127.0.0.1'] for 'localhost'
 * allowedClients(['localhost'])
 * result:   ---a----c--|      b.refuse(ERR_NOT_ALLOWED) is called at the answer
 * ```
 *
 * Any stream of values with a `remoteAddress` can be filtered: a `ConnectionRequest` is refused
 * as it is dropped; a value without `refuse()` is only dropped. Errors and completion pass
 * through (completion after the requests still waiting for a first answer); unsubscribing stops
 * the lookups.
 *
 * Host names are looked up per subscription, again every `refresh` ms: a lookup that fails
 * keeps the addresses of the last one that answered, and a host name never resolved allows
 * nobody. The server itself looks its host names up when it starts listening (option
 * `allowedClientsRefresh`) and logs each failure.
 *
 * @example
 * ```ts
 * import { Subject } from 'rxjs';
 * import { allowedClients, type ConnectionRequest, type HostLookup } from 'rxws';
 *
 * const requests$ = new Subject<ConnectionRequest>();
 * const onLookup = (r: HostLookup) => r.error && console.warn(r.host, r.error.message);
 * requests$
 *   .pipe(allowedClients(['localhost', '10.0.0.0/8'], { refresh: 30_000, onLookup }))
 *   .subscribe((req) => console.log('allowed', req.remoteAddress));
 *
 * // Any value with a remote address: no refuse() needed.
 * const peers$ = new Subject<{ remoteAddress: string }>();
 * peers$.pipe(allowedClients('127.0.0.1, ::1')).subscribe((p) => console.log(p.remoteAddress));
 * ```
 *
 * @param list Entries: `*`, IPv4 addresses with `*` wildcard octets (`192.168.1.*`), IPv6
 *   addresses, CIDR blocks (`10.0.0.0/8`, `fd00::/8`), host names (`localhost`); a string is
 *   split on commas. Empty (the default) allows everyone without reading the address.
 *   IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) match IPv4 entries.
 * @param options How host names are looked up: `lookup` (default `dns.lookup`, all
 *   addresses), `refresh` (default 60000 ms; 0: once), `scheduler` (default unref'd timers),
 *   `onLookup` (default none).
 * @throws {InvalidArgumentError} at once, naming the first entry that is none of these, or an
 *   option with a wrong value.
 */
export function allowedClients<T extends { readonly remoteAddress: string }>(
  list: readonly string[] | string = [],
  options: AllowedClientsOptions = {},
): MonoTypeOperatorFunction<T> {
  const compiled = allowListOf(list);
  const { lookup, refresh = DEFAULT_HOST_REFRESH, scheduler, onLookup } = checkOptions(options);
  if (compiled.hosts.length === 0) return filter(allowListCheck<T>(compiled));
  return (source) =>
    new Observable<T>((subscriber) => {
      const allowList = compiled.fresh();
      const check = allowListCheck<T>(allowList);
      const pass = (request: T): void => {
        try {
          if (check(request)) subscriber.next(request);
        } catch (err) {
          subscriber.error(err);
        }
      };
      // Requests waiting for the first answer about every host name; undefined once it came.
      let waiting: T[] | undefined = [];
      let sourceComplete = false;
      subscriber.add(
        hostLookups(allowList, { lookup, refresh, scheduler }).subscribe((results) => {
          if (onLookup) {
            try {
              for (const result of results) onLookup(result);
            } catch (err) {
              subscriber.error(err);
              return;
            }
          }
          if (!waiting) return;
          const queued = waiting;
          waiting = undefined;
          for (const request of queued) pass(request);
          if (sourceComplete) subscriber.complete();
        }),
      );
      if (subscriber.closed) return;
      subscriber.add(
        source.subscribe({
          next: (request) => (waiting ? waiting.push(request) : pass(request)),
          error: (err: unknown) => subscriber.error(err),
          complete: () => {
            if (waiting) sourceComplete = true;
            else subscriber.complete();
          },
        }),
      );
    });
}

/** The options, checked. */
function checkOptions(options: AllowedClientsOptions): AllowedClientsOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(
      `allowedClients: options must be an object, got ${show(options)}`,
    );
  }
  const { lookup, refresh, scheduler, onLookup } = options;
  const wrong = (name: string, expected: string, value: unknown): never => {
    throw new InvalidArgumentError(
      `allowedClients: "${name}" must be ${expected}, got ${show(value)}`,
    );
  };
  if (lookup !== undefined && typeof lookup !== 'function') wrong('lookup', 'a function', lookup);
  if (onLookup !== undefined && typeof onLookup !== 'function') {
    wrong('onLookup', 'a function', onLookup);
  }
  if (
    refresh !== undefined &&
    (typeof refresh !== 'number' ||
      !Number.isInteger(refresh) ||
      refresh < 0 ||
      refresh > 2 ** 31 - 1)
  ) {
    wrong('refresh', 'a non-negative integer number of milliseconds', refresh);
  }
  if (scheduler !== undefined && typeof scheduler?.schedule !== 'function') {
    wrong('scheduler', 'an RxJS scheduler', scheduler);
  }
  return options;
}
