import type * as NodeRedis from 'redis';
import { RxwsError } from '../../errors';
import type { ResolvedRedisOptions } from './options';

/** A node-redis client, as the backplane uses it. */
export type RedisClient = ReturnType<typeof NodeRedis.createClient>;

let nodeRedis: typeof NodeRedis | undefined;

/**
 * node-redis, loaded at the first `redisBackplane()` call: `rxws/redis` can be imported (and
 * `rxws` used) without it installed.
 * @throws {RxwsError} `ERR_REDIS_MISSING` when the `redis` package cannot be found.
 */
export function loadRedis(): typeof NodeRedis {
  if (nodeRedis) return nodeRedis;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    nodeRedis = require('redis') as typeof NodeRedis;
  } catch (cause) {
    throw new RxwsError(
      'ERR_REDIS_MISSING',
      'redisBackplane() needs the "redis" package (node-redis 6), an optional peer dependency of rxws: npm install redis',
      { cause },
    );
  }
  return nodeRedis;
}

/** Replies whose strings are Buffers: the envelopes are binary. */
export function asBuffers(): { typeMapping: Record<number, BufferConstructor> } {
  return { typeMapping: { [loadRedis().RESP_TYPES.BLOB_STRING]: Buffer } };
}

/** The reasons a client goes down, as `backplane` entries name them. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== 'Error' ? name : 'ERR_BACKPLANE';
}

/**
 * One connection to Redis, followed: up after its first `ready` and each reconnection, down at
 * the first error after that (node-redis reconnects by itself and emits an `error` for each
 * failed attempt; only the first one of a series is passed on). Its errors never reach
 * `process`: this always listens for them.
 */
export class FollowedClient {
  readonly client: RedisClient;
  up = false;
  private started = false;
  private closed = false;

  constructor(
    options: ResolvedRedisOptions,
    role: string,
    queueWhileDown: boolean,
    private readonly onChange: (
      client: FollowedClient,
      up: boolean,
      code: string,
      reason: string,
    ) => void,
  ) {
    this.client = loadRedis().createClient({
      url: options.url,
      ...options.clientOptions,
      name: `rxws-${role}/${options.instanceId}`,
      disableOfflineQueue: !queueWhileDown,
    });
    this.client.on('ready', () => {
      if (this.closed) return;
      this.up = true;
      this.onChange(this, true, '', '');
    });
    this.client.on('error', (error: unknown) => {
      if (this.closed) return;
      if (!this.up && this.started) return;
      this.started = true;
      this.up = false;
      this.onChange(this, false, codeOf(error), String((error as Error)?.message ?? error));
    });
  }

  /** Connects; a failure is reported through `onChange` (node-redis keeps trying). */
  connect(): void {
    this.client.connect().then(
      () => {
        this.started = true;
      },
      () => undefined,
    );
  }

  /** Closes the connection at once (what was not sent is not sent). */
  close(): void {
    this.closed = true;
    this.up = false;
    if (this.client.isOpen) this.client.destroy();
  }
}
