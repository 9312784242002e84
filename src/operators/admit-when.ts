import { filter, type MonoTypeOperatorFunction } from 'rxjs';
import { ConnectionRefusedError, InvalidArgumentError, show } from '../errors';

/** How `admitWhen()` refuses a request its rule turns away. */
export interface AdmitWhenOptions {
  /**
   * The HTTP status an open request is rejected with (a connection request is destroyed without
   * an answer whatever it is). Default 403.
   */
  status?: number;
  /** The refusal's reason: logged, and the body of an HTTP rejection. Default `'refused'`. */
  reason?: string;
}

/**
 * Passes the requests `rule` accepts and refuses the others (`ERR_CONNECTION_REFUSED`, with
 * `status` and `reason`): a user's own rule as one stage of `connectionPipeline` or
 * `openPipeline`, beside `allowedClients()`.
 *
 * ```text
 * requests: --a--b--c--|      rule: has an API key; b has none
 * admitWhen(hasKey, { status: 401, reason: 'API key required' })
 * result:   --a-----c--|      b.refuse(ERR_CONNECTION_REFUSED, status 401) is called as b is dropped
 * ```
 *
 * A rule that throws errors the stream (the server then refuses the requests in its pipeline,
 * reports `ERR_HOOK` and subscribes it again for the next request).
 *
 * @example
 * ```ts
 * import { createServer, admitWhen, allowedClients } from 'rxws';
 *
 * const server = createServer({
 *   port: 8080,
 *   openPipeline: (requests$) =>
 *     requests$.pipe(
 *       allowedClients(['10.0.0.0/8', '127.0.0.1']),
 *       admitWhen((r) => r.headers['x-api-key'] === process.env.API_KEY, {
 *         status: 401,
 *         reason: 'API key required',
 *       }),
 *     ),
 * });
 * ```
 *
 * @param rule true to let the request on.
 * @param options `status` (default 403) and `reason` (default `'refused'`).
 * @throws {InvalidArgumentError} at once for a rule that is not a function, or a status that is
 *   not an integer from 300 to 599.
 */
export function admitWhen<T extends { refuse(reason: ConnectionRefusedError): void }>(
  rule: (request: T) => boolean,
  options: AdmitWhenOptions = {},
): MonoTypeOperatorFunction<T> {
  if (typeof rule !== 'function') {
    throw new InvalidArgumentError(`admitWhen: rule must be a function, got ${show(rule)}`);
  }
  const { status = 403, reason = 'refused' } = options ?? {};
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new InvalidArgumentError(
      `admitWhen: status must be an integer from 300 to 599, got ${show(status)}`,
    );
  }
  if (typeof reason !== 'string') {
    throw new InvalidArgumentError(`admitWhen: reason must be a string, got ${show(reason)}`);
  }
  return filter((request) => {
    if (rule(request)) return true;
    request.refuse(new ConnectionRefusedError('ERR_CONNECTION_REFUSED', reason, { status }));
    return false;
  });
}
