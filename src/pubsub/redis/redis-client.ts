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
  /** Rejects when the connection closes (then a new one is made for the next connection). */
  private lost: Promise<never>;
  private lose!: (error: Error) => void;

  /**
   * @param epoch the link's epoch, which makes the connection's name in Redis (`CLIENT LIST`)
   *   unique (two servers of one process have the same default `instanceId`).
   */
  constructor(
    options: ResolvedRedisOptions,
    role: 'send' | 'listen',
    epoch: string,
    private readonly onChange: ClientChange,
    prepare?: Prepare,
  ) {
    this.lost = this.armLost();
    const { Redis } = loadRedis();

    this.client = new Redis(options.url, {
      ...options.clientOptions,
      connectionName: `rxws-${role}/${options.instanceId}/${epoch}`.replace(/\s/g, '_'),
      lazyConnect: true,
      // The sender fails at once while down (a publish then counts as unsent, or waits in the
      // streams mode's own queue); the listener's commands wait for the reconnection.
      enableOfflineQueue: role === 'listen',
      maxRetriesPerRequest: null,
      enableAutoPipelining: role === 'send',
      // Subscriptions are made again by the pub/sub link itself (`prepare`), so that it counts
      // as up only once they are.
      autoResubscribe: false,
      // The listener's commands that a connection took with it are not sent again on the next
      // one (a blocking read sent again would hold the new connection on the old topics): the
      // links read again themselves (see `whileConnected()`). The sender's are, in order.
      autoResendUnfulfilledCommands: role === 'send',
    });
    this.client.on('error', (error: unknown) => {
      this.lastError = error;
      if (!this.up) this.down();
    });
    this.client.on('close', () => {
      const lose = this.lose;
      this.lost = this.armLost();
      lose(new Error('the connection to Redis closed'));
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

  /**
   * `command`, or a rejection if the connection closes first: ioredis leaves a command the
   * connection took with it unsettled when it does not send it again.
   */
  whileConnected<T>(command: Promise<T>): Promise<T> {
    return Promise.race([command, this.lost]);
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

  private armLost(): Promise<never> {
    const lost = new Promise<never>((_, reject) => (this.lose = reject));
    lost.catch(() => undefined);
    return lost;
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
