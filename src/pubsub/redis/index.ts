import type { Backplane } from '../backplane';
import { resolveRedisOptions, type RedisBackplaneOptions } from './options';
import { PubSubLink } from './pubsub-link';
import { loadRedis } from './redis-client';
import { StreamLink } from './stream-link';

/**
 * A backplane over Redis, for servers in several processes or on several machines: pass it to
 * `createServer({ backplane })`. Each server attached to it makes two connections to Redis (one
 * sends, one listens), which reconnect by themselves; while they are down, topics are delivered
 * locally only, and `logs$` says so (`backplane` entries) and says what was lost (`gap`).
 *
 * Needs the `ioredis` package, an optional peer dependency of rxws.
 *
 * @example
 * ```ts
 * import { createServer } from 'rxws';
 * import { redisBackplane } from 'rxws/redis';
 *
 * const server = createServer({ port: 8080, backplane: redisBackplane({ url: process.env.REDIS_URL }) });
 * ```
 * @throws {InvalidOptionError} for an option that is not valid, at the call.
 * @throws {RxwsError} `ERR_REDIS_MISSING` when the `redis` package is not installed.
 */
export function redisBackplane(options?: RedisBackplaneOptions): Backplane {
  const resolved = resolveRedisOptions(options);
  loadRedis();
  return {
    attach: (host) =>
      resolved.mode === 'streams' ? new StreamLink(host, resolved) : new PubSubLink(host, resolved),
  };
}
