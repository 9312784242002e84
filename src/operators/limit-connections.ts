import { Observable, take, type MonoTypeOperatorFunction } from 'rxjs';
import { ConnectionRefusedError, InvalidArgumentError, show } from '../errors';

/** Options of `limitConnections()`. */
export interface LimitConnectionsOptions<T> {
  /**
   * What the limit is counted per: the key of a request (`(r) => r.remoteAddress`, an API key
   * header, a tenant). Default: one count for all requests.
   */
  key?: (request: T) => string;
  /** The HTTP status an open request is rejected with. Default 503. */
  status?: number;
  /** The refusal's reason: logged, and the body of an HTTP rejection. Default: says the limit. */
  reason?: string;
}

/** What `limitConnections()` needs of a request: to refuse it, and to hear when it has closed. */
export interface LimitableRequest {
  refuse(reason: ConnectionRefusedError): void;
  readonly closed$: Observable<void>;
}

/**
 * Lets at most `max` requests (per `key`) be in flight at once: passed on, and not yet closed
 * (refused later, timed out, or the connection they became has closed). One over it is refused
 * with `ERR_MAX_CONNECTIONS` (HTTP `status`, default 503, for an open request). A limit of your
 * own, in `connectionPipeline` or `openPipeline`, beside the built-in `maxConnections` and
 * per-address limits: per API key, per tenant, per path.
 *
 * ```text
 * requests: -a-b-c---d-|     max 2; a closes at frame 6
 * closed$ of a: ------x
 * limitConnections(2)
 * result:   -a-b-----d-|     c.refuse(ERR_MAX_CONNECTIONS) is called as c is dropped
 * ```
 *
 * Each subscription keeps its own counts; unsubscribing stops listening for closes.
 *
 * @example
 * ```ts
 * import { createServer, limitConnections } from 'rxws';
 *
 * // At most 5 connections per API key at once.
 * const server = createServer({
 *   port: 8080,
 *   openPipeline: (requests$) =>
 *     requests$.pipe(limitConnections(5, { key: (r) => String(r.headers['x-api-key']) })),
 * });
 * ```
 *
 * @param max a positive integer.
 * @param options `key` (default: one count), `status` (default 503), `reason`.
 * @throws {InvalidArgumentError} at once for a `max`, `key`, `status` or `reason` that is not
 *   valid.
 */
export function limitConnections<T extends LimitableRequest>(
  max: number,
  options: LimitConnectionsOptions<T> = {},
): MonoTypeOperatorFunction<T> {
  if (!Number.isInteger(max) || max < 1) {
    throw new InvalidArgumentError(
      `limitConnections: max must be a positive integer, got ${show(max)}`,
    );
  }
  const { key, status = 503, reason } = options ?? {};
  if (key !== undefined && typeof key !== 'function') {
    throw new InvalidArgumentError(`limitConnections: key must be a function, got ${show(key)}`);
  }
  if (!Number.isInteger(status) || status < 300 || status > 599) {
    throw new InvalidArgumentError(
      `limitConnections: status must be an integer from 300 to 599, got ${show(status)}`,
    );
  }
  if (reason !== undefined && typeof reason !== 'string') {
    throw new InvalidArgumentError(
      `limitConnections: reason must be a string, got ${show(reason)}`,
    );
  }
  const refusal =
    reason ?? `at most ${max} connection${max === 1 ? '' : 's'}${key ? ' per key' : ''}`;
  return (source) =>
    new Observable<T>((subscriber) => {
      const counts = new Map<string, number>();
      subscriber.add(
        source.subscribe({
          next: (request) => {
            let k: string;
            try {
              k = key ? key(request) : '';
            } catch (err) {
              subscriber.error(err);
              return;
            }
            const count = counts.get(k) ?? 0;
            if (count >= max) {
              request.refuse(
                new ConnectionRefusedError('ERR_MAX_CONNECTIONS', refusal, { status }),
              );
              return;
            }
            counts.set(k, count + 1);
            let released = false;
            const release = (): void => {
              if (released) return;
              released = true;
              const left = (counts.get(k) ?? 1) - 1;
              if (left > 0) counts.set(k, left);
              else counts.delete(k);
            };
            // Listened for until the first close (take(1)): a closed request holds nothing.
            subscriber.add(request.closed$.pipe(take(1)).subscribe({ complete: release }));
            subscriber.next(request);
          },
          error: (err: unknown) => subscriber.error(err),
          complete: () => subscriber.complete(),
        }),
      );
    });
}
