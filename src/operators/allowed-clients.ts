import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { allowListCheck, type RefusableRequest } from '../transport/allow-list';

/**
 * Passes connection requests whose remote address is on the allow-list and refuses the others
 * with `ERR_NOT_ALLOWED` (IPWorks' AllowedClients).
 *
 * ```text
 * requests: --a--b--c--|      a = 10.0.0.7, b = 192.168.1.20, c = 10.1.2.3
 * allowedClients(['10.0.0.0/24', '192.168.1.*'])
 * result:   --a--b-----|      c.refuse(ERR_NOT_ALLOWED) is called as c passes
 * ```
 *
 * @example
 * ```ts
 * import { Subject } from 'rxjs';
 * import { allowedClients, type ConnectionRequest } from 'rxws';
 *
 * const requests$ = new Subject<ConnectionRequest>();
 * requests$.pipe(allowedClients(['127.0.0.1', '::1', '10.0.0.0/8'])).subscribe((req) => {
 *   console.log('allowed', req.remoteAddress);
 * });
 * ```
 *
 * @param list Entries: `*`, IPv4 addresses with `*` wildcard octets (`192.168.1.*`), IPv6
 *   addresses, CIDR blocks (`10.0.0.0/8`, `fd00::/8`); a string is split on commas. Empty (the
 *   default) allows everyone. IPv4-mapped IPv6 addresses match IPv4 entries.
 * @throws {InvalidArgumentError} at once, naming the first entry that is none of these.
 */
export function allowedClients<T extends RefusableRequest>(
  list: readonly string[] | string = [],
): MonoTypeOperatorFunction<T> {
  return filter(allowListCheck<T>(list));
}
