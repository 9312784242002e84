// The `rxws/redis` entry: the Redis backplane (needs the `redis` package).
export { redisBackplane } from '../pubsub/redis';
export type { RedisBackplaneOptions } from '../pubsub/redis/options';
