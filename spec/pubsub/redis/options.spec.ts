import { InvalidOptionError } from '../../../src';
import { resolveRedisOptions } from '../../../src/pubsub/redis/options';
import { redisBackplane } from '../../../src/redis';

describe('redisBackplane() options', () => {
  it('has documented defaults', () => {
    expect(resolveRedisOptions()).toEqual({
      url: 'redis://127.0.0.1:6379',
      clientOptions: {},
      mode: 'pubsub',
      retention: 10000,
      maxBuffered: 10000,
      prefix: 'rxws:',
      instanceId: expect.stringMatching(/^.+\/\d+$/),
      markInterval: 1000,
    });
  });

  it.each<[Record<string, unknown>, string]>([
    [{ mode: 'durable' }, '"mode" must be "pubsub" or "streams", got "durable"'],
    [{ retention: 0 }, '"retention" must be a positive integer, got 0'],
    [{ maxBuffered: -1 }, '"maxBuffered" must be an integer >= 0, got -1'],
    [{ markInterval: 1.5 }, '"markInterval" must be an integer >= 0, got 1.5'],
    [{ url: '' }, '"url" must be a non-empty string, got ""'],
    [{ prefix: 5 }, '"prefix" must be a non-empty string, got 5'],
    [
      { instanceId: 'x'.repeat(201) },
      `"instanceId" must be a non-empty string of at most 200 bytes, got "${'x'.repeat(201)}"`,
    ],
    [
      { clientOptions: 'redis://x' },
      '"clientOptions" must be an object of ioredis options, got "redis://x"',
    ],
  ])('refuses %p at the call', (options, message) => {
    expect(() => redisBackplane(options)).toThrow(new InvalidOptionError('', message));
    expect(() => redisBackplane(options)).toThrow(InvalidOptionError);
  });
});
