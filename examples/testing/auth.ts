/**
 * The accept path of an app, written to be tested: an open-request hook that turns a bearer
 * token into the connection's data, and a rate limit for `openPipeline`. Tested in
 * spec/examples/testing-guide.spec.ts: the operator with marbles, the hook as a function, the
 * session in a handler through `testConnection({ data })`.
 */
import {
  asyncScheduler,
  defer,
  filter,
  type MonoTypeOperatorFunction,
  type SchedulerLike,
} from 'rxjs';
import {
  ConnectionRefusedError,
  type Connection,
  type OpenDecision,
  type OpenRequest,
} from '../../src';

/** What a token stands for: the connection's data. */
export interface Session {
  readonly user: string;
  readonly admin: boolean;
}

/** Looks a token up (a database, a JWT check...). */
export type TokenStore = (token: string) => Promise<Session | undefined>;

/** `onOpenRequest`: a valid `Authorization: Bearer <token>` opens with its session as `data`. */
export function authenticate(
  tokens: TokenStore,
): (request: OpenRequest) => Promise<OpenDecision<Session>> {
  return async (request) => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice('Bearer '.length) : undefined;
    const session = token === undefined ? undefined : await tokens(token);
    if (!session) {
      return { accept: false, status: 401, headers: { 'WWW-Authenticate': 'Bearer' } };
    }
    return { accept: true, data: session };
  };
}

/**
 * For `openPipeline`: at most `limit` open requests per client address within `windowMs`; the
 * others are refused with 429. Stateful, so it is one operator over all requests, not a hook.
 */
export function rateLimit<
  T extends { readonly remoteAddress: string; refuse(reason: ConnectionRefusedError): void },
>(
  limit: number,
  windowMs: number,
  scheduler: SchedulerLike = asyncScheduler,
): MonoTypeOperatorFunction<T> {
  return (requests$) =>
    defer(() => {
      const recent = new Map<string, number[]>();
      return requests$.pipe(
        filter((request) => {
          const now = scheduler.now();
          const times = (recent.get(request.remoteAddress) ?? []).filter((t) => now - t < windowMs);
          const allowed = times.length < limit;
          if (allowed) times.push(now);
          recent.set(request.remoteAddress, times);
          if (!allowed) {
            request.refuse(
              new ConnectionRefusedError('ERR_CONNECTION_REFUSED', 'Too Many Requests', {
                status: 429,
              }),
            );
          }
          return allowed;
        }),
      );
    });
}

/** A handler that reads the session: admins may shut a room; others are told they may not. */
export function admin(conn: Connection<Session>): void {
  conn.messages$.subscribe((message) => {
    if (message.data !== 'shutdown') return;
    if (conn.data.admin) void conn.disconnect(4000, `shut by ${conn.data.user}`);
    else conn.sink.next(`${conn.data.user} may not shut the room`);
  });
}
