import type * as IORedis from 'ioredis';
import { RxwsError } from '../../errors';
import type { ResolvedRedisOptions } from './options';

/** An ioredis client, as the backplane uses it. */
export type RedisClient = IORedis.Redis;

let ioredis: typeof IORedis | undefined;

/**
 * ioredis, loaded at the first `redisBackplane()` call: `rxws/redis` can be imported (and `rxws`
 * used) without it installed.
 * @throws {RxwsError} `ERR_REDIS_MISSING` when the `ioredis` package cannot be found.
 */
export function loadRedis(): typeof IORedis {
  if (ioredis) return ioredis;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    ioredis = require('ioredis') as typeof IORedis;
  } catch (cause) {
    throw new RxwsError(
      'ERR_REDIS_MISSING',
      'redisBackplane() needs the "ioredis" package (version 6), an optional peer dependency of rxws: npm install ioredis',
      { cause },
    );
  }
  return ioredis;
}

/** The reason a client went down, as `backplane` entries name it. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && name !== 'Error' ? name : 'ERR_BACKPLANE';
}

/** Whether a client went up or down, and why. */
export type ClientChange = (up: boolean, code: string, reason: string) => void;

/** What a connection must do when it is (re)connected before it counts as up. */
export type Prepare = (client: RedisClient) => Promise<unknown>;

/**
 * One connection to Redis, followed: up once it is ready (and `prepare` has run: resubscribing,
 * for the listening connection), down when it closes, or at its first error if it never was up.
 * ioredis reconnects by itself and reports every failed attempt; only the first of a series is
 * passed on. Its errors never reach `process`: this always listens for them.
 */
export class FollowedClient {
  readonly client: RedisClient;
  up = false;
  private downSent = false;
  private closed = false;
  private lastError: unknown;

  constructor(
    options: ResolvedRedisOptions,
    role: 'send' | 'listen',
    private readonly onChange: ClientChange,
    prepare?: Prepare,
  ) {
    const { Redis } = loadRedis();
    this.client = new Redis(options.url, {
      ...options.clientOptions,
      connectionName: `rxws-${role}/${options.instanceId}`.replace(/\s/g, '_'),
      lazyConnect: true,
      // The sender fails at once while down (a publish then counts as unsent, or waits in the
      // streams mode's own queue); the listener's commands wait for the reconnection.
      enableOfflineQueue: role === 'listen',
      maxRetriesPerRequest: null,
      enableAutoPipelining: role === 'send',
      // Subscriptions are made again by the pub/sub link itself (`prepare`), so that it counts
      // as up only once they are.
      autoResubscribe: false,
    });
    this.client.on('error', (error: unknown) => {
      this.lastError = error;
      if (!this.up) this.down();
    });
    this.client.on('close', () => {
      if (this.up) this.down();
    });
    this.client.on('ready', () => {
      if (this.closed) return;
      const ready = prepare ? prepare(this.client) : Promise.resolve();
      ready.then(
        () => {
          if (this.closed || this.client.status !== 'ready' || this.up) return;
          this.up = true;
          this.lastError = undefined;
          this.downSent = false;
          this.onChange(true, '', '');
        },
        // The connection went again meanwhile: its next `ready` tries again.
        () => undefined,
      );
    });
  }

  /** Connects; a failure is reported through `onChange` (ioredis keeps trying). */
  connect(): void {
    this.client.connect().catch(() => undefined);
  }

  /** Closes the connection at once (what was not sent is not sent). */
  close(): void {
    this.closed = true;
    this.up = false;
    this.client.disconnect();
  }

  private down(): void {
    this.up = false;
    if (this.closed || this.downSent) return;
    this.downSent = true;
    const error = this.lastError as { message?: unknown } | undefined;
    this.onChange(
      false,
      error ? codeOf(error) : 'ECONNRESET',
      typeof error?.message === 'string' ? error.message : 'the connection to Redis closed',
    );
  }
}
