import { hostname } from 'node:os';
import { invalidOption } from '../../errors';

/** Settings of `redisBackplane()`. */
export interface RedisBackplaneOptions {
  /** The Redis server. Default `'redis://127.0.0.1:6379'`. `clientOptions.url` wins. */
  readonly url?: string;
  /**
   * Settings for the ioredis clients the backplane makes (`new Redis(url, options)`'s options:
   * `socket` with TLS, `username`, `password`, `database`, `RESP`...). It makes two
   * connections: one publishes, one listens.
   */
  readonly clientOptions?: Record<string, unknown>;
  /**
   * `'pubsub'` (default): Redis pub/sub, the fastest; what is published while an instance's link
   * is down never reaches it, and it reports how much as `gap` entries.
   * `'streams'`: one Redis stream per topic; an instance that reconnects catches up on what it
   * missed (within `retention`), and a publisher keeps what it could not send (up to
   * `maxBuffered`) and sends it when Redis is back.
   */
  readonly mode?: 'pubsub' | 'streams';
  /** Streams: about how many messages each topic's stream keeps (`XADD MAXLEN ~`). Default 10000. */
  readonly retention?: number;
  /** Streams: publishes kept while Redis is unreachable, sent in order when it is back. Default 10000. */
  readonly maxBuffered?: number;
  /** The start of every channel and key the backplane uses. Default `'rxws:'`. */
  readonly prefix?: string;
  /** The name this instance publishes under, as `gap` entries show it. Default `host/pid`. */
  readonly instanceId?: string;
  /**
   * Pub/sub: every `markInterval` ms, an instance that published on a topic since tells the
   * others its last number there, so that a loss at the end of a burst is reported within that
   * time rather than at the publisher's next message. Default 1000; 0 turns it off.
   */
  readonly markInterval?: number;
}

export interface ResolvedRedisOptions {
  readonly url: string;
  readonly clientOptions: Record<string, unknown>;
  readonly mode: 'pubsub' | 'streams';
  readonly retention: number;
  readonly maxBuffered: number;
  readonly prefix: string;
  readonly instanceId: string;
  readonly markInterval: number;
}

const MODES = ['pubsub', 'streams'];

/**
 * Checks and completes `redisBackplane()`'s options. Pure but for the default `instanceId`.
 * @throws {InvalidOptionError} naming the option and the value.
 */
export function resolveRedisOptions(options: RedisBackplaneOptions = {}): ResolvedRedisOptions {
  if (typeof options !== 'object' || options === null) {
    invalidOption('redisBackplane options', 'an object', options);
  }
  const o = options;
  const text = (name: keyof RedisBackplaneOptions, fallback: string, max = Infinity): string => {
    const v = o[name] ?? fallback;
    if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) > max) {
      invalidOption(
        name,
        `a non-empty string${max < Infinity ? ` of at most ${max} bytes` : ''}`,
        v,
      );
    }
    return v;
  };
  const count = (name: keyof RedisBackplaneOptions, fallback: number, min: number): number => {
    const v = o[name] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      invalidOption(name, min === 0 ? 'an integer >= 0' : 'a positive integer', v);
    }
    return v;
  };
  const mode = o.mode ?? 'pubsub';
  if (!MODES.includes(mode)) invalidOption('mode', '"pubsub" or "streams"', mode);
  const clientOptions = o.clientOptions ?? {};
  if (typeof clientOptions !== 'object' || clientOptions === null) {
    invalidOption('clientOptions', 'an object of ioredis options', clientOptions);
  }
  return {
    url: text('url', 'redis://127.0.0.1:6379'),
    clientOptions,
    mode,
    retention: count('retention', 10000, 1),
    maxBuffered: count('maxBuffered', 10000, 0),
    prefix: text('prefix', 'rxws:'),
    instanceId: text('instanceId', `${hostname()}/${process.pid}`, 200),
    markInterval: count('markInterval', 1000, 0),
  };
}
