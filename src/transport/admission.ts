import {
  catchError,
  defaultIfEmpty,
  filter,
  map,
  mergeMap,
  Observable,
  of,
  type MonoTypeOperatorFunction,
  type OperatorFunction,
} from 'rxjs';
import { ConnectionRefusedError, HookError, describeError } from '../errors';
import { allowListCheck } from './allow-list';
import { hookResult$, type HookResult } from '../hooks';
import type { ConnectionRequest, ConnectionRequestInfo } from './connection-request';

/**
 * The limit: true while `current()` (connections open or being opened, this one included) is at
 * most `limit`; over it, the request is refused with `ERR_MAX_CONNECTIONS`.
 */
function limitCheck<T extends ConnectionRequest>(
  limit: number,
  current: () => number,
): (request: T) => boolean {
  return (request) => {
    if (current() <= limit) return true;
    request.refuse(
      new ConnectionRefusedError('ERR_MAX_CONNECTIONS', `maxConnections (${limit}) reached`),
    );
    return false;
  };
}

/**
 * Asks `hook` about each request; `false` (or no answer) refuses it with
 * `ERR_CONNECTION_REFUSED`. A hook that throws or errors refuses the request and reports a
 * `HookError` through `onHookError`. Requests are decided concurrently.
 */
export function connectionHook<T extends ConnectionRequest>(
  hook: (request: ConnectionRequestInfo) => HookResult<boolean>,
  onHookError: (error: HookError) => void,
): MonoTypeOperatorFunction<T> {
  const decide = (request: T): Observable<T | null> => {
    let answer$: Observable<boolean>;
    try {
      answer$ = hookResult$(hook(request));
    } catch (err) {
      answer$ = new Observable<boolean>((s) => s.error(err));
    }
    return answer$.pipe(
      defaultIfEmpty(false),
      map((accepted) => {
        if (accepted === true) return request;
        request.refuse(
          new ConnectionRefusedError('ERR_CONNECTION_REFUSED', 'refused by onConnectionRequest'),
        );
        return null;
      }),
      catchError((err: unknown) => {
        const error = new HookError(
          'ERR_HOOK',
          `onConnectionRequest failed: ${describeError(err)}`,
          {
            cause: err,
          },
        );
        onHookError(error);
        request.refuse(
          new ConnectionRefusedError('ERR_CONNECTION_REFUSED', error.message, { cause: err }),
        );
        return of(null);
      }),
    );
  };
  return (source) =>
    source.pipe(
      mergeMap(decide),
      filter((r): r is T => r !== null),
    );
}

/** What the server's connection-request stages are made from. */
export interface AdmissionConfig {
  allowedClients: readonly string[];
  maxConnections: number;
  current: () => number;
  onConnectionRequest: ((request: ConnectionRequestInfo) => HookResult<boolean>) | undefined;
  onHookError: (error: HookError) => void;
  /** The per-address limits: true to go on; a request it stops has been refused. */
  perAddress?: (request: ConnectionRequest) => boolean;
}

/**
 * The stages that decide at once, the allow-list, the limit, then the per-address limits, as one check: true to go on;
 * a request it stops has been refused. Without `onConnectionRequest` this is the whole decision,
 * made while the socket is accepted.
 */
export function admissionCheck<T extends ConnectionRequest>(
  config: AdmissionConfig,
): (request: T) => boolean {
  const allowed = allowListCheck<T>(config.allowedClients);
  const underLimit = limitCheck<T>(config.maxConnections, config.current);
  const perAddress = config.perAddress;
  if (!perAddress) return (request) => allowed(request) && underLimit(request);
  return (request) => allowed(request) && underLimit(request) && perAddress(request);
}

/**
 * The whole connection-request pipeline: `admissionCheck()`, then the user's hook, whose answers
 * may come later (requests are decided concurrently).
 */
export function admission<T extends ConnectionRequest>(
  config: AdmissionConfig,
): OperatorFunction<T, T> {
  const check = filter(admissionCheck<T>(config));
  const hook = config.onConnectionRequest;
  if (!hook) return check;
  return (source) => source.pipe(check, connectionHook<T>(hook, config.onHookError));
}
