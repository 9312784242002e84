import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { ConnectionRefusedError, InvalidArgumentError } from '../errors';
import { compileAllowList } from '../transport/address';

/** The part of a connection request that `allowedClients()` reads and acts on. */
export interface RefusableRequest {
  readonly remoteAddress: string;
  refuse(reason: ConnectionRefusedError): void;
}

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

/**
 * The check behind `allowedClients()`: true for a request on the list; a request off it is
 * refused (`ERR_NOT_ALLOWED`) and gets false. With an empty list, true without reading the address.
 * @throws {InvalidArgumentError} at once, naming the first entry that is not valid.
 */
export function allowListCheck<T extends RefusableRequest>(
  list: readonly string[] | string = [],
): (request: T) => boolean {
  const entries = typeof list === 'string' ? splitList(list) : list;
  if (entries.length === 0) return () => true;
  let isAllowed: (address: string) => boolean;
  try {
    isAllowed = compileAllowList(entries);
  } catch (err) {
    throw new InvalidArgumentError(`allowedClients: ${(err as Error).message}`);
  }
  return (request) => {
    if (isAllowed(request.remoteAddress)) return true;
    request.refuse(
      new ConnectionRefusedError(
        'ERR_NOT_ALLOWED',
        `${request.remoteAddress} is not in allowedClients`,
      ),
    );
    return false;
  };
}

/** Splits IPWorks' comma-separated AllowedClients text into entries. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
