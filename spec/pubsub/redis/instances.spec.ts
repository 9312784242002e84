import {
  Instance,
  SHARED_REDIS,
  deleteKeys,
  stopInstances,
  uniquePrefix,
  type Received,
} from '../../helpers/redis';

/**
 * Servers in separate processes sharing topics through the shared Redis server: every message
 * published on any instance reaches every subscriber on every instance exactly once, each
 * publisher's in order, and nobody reports a gap.
 */

let prefix: string;
beforeEach(() => {
  prefix = uniquePrefix();
});
afterEach(async () => {
  await stopInstances();
  await deleteKeys(SHARED_REDIS, prefix);
});

/** Messages `from` publishes: `from:0` ... `from:n-1`. */
const texts = (from: string, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${from}:${i}`);

/** What a client received, split by publisher, in the order received. */
function byPublisher(texts: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const text of texts) (out[text.split(':')[0]] ??= []).push(text);
  return out;
}

describe.each(['pubsub', 'streams'] as const)(
  'redisBackplane({ mode: %p }) across processes',
  (mode) => {
    it('delivers what three instances publish to every client on each, exactly once, in order per publisher', async () => {
      const names = ['a', 'b', 'c'];
      const instances = await Promise.all(
        names.map((instanceId) => Instance.start({ url: SHARED_REDIS, prefix, mode, instanceId })),
      );
      const clients: Received[] = [];
      for (const instance of instances)
        clients.push(await instance.client('room'), await instance.client('room'));
      const other = await instances[0].client('elsewhere');
      const n = 300;
      await Promise.all(
        instances.map((instance, i) => instance.publish('room', texts(names[i], n))),
      );
      const expected = Object.fromEntries(names.map((name) => [name, texts(name, n)]));
      for (const client of clients) {
        expect(byPublisher(await client.count(names.length * n))).toEqual(expected);
      }
      // Nothing more comes (no message twice): a last message from each arrives right after.
      await Promise.all(
        instances.map((instance, i) => instance.publish('room', [`${names[i]}:end`])),
      );
      for (const client of clients) {
        const all = await client.count(names.length * (n + 1));
        expect(all).toHaveLength(names.length * (n + 1));
      }
      expect(other.texts).toEqual([]);
      for (const instance of instances) {
        expect(instance.logs.filter((e) => e.type === 'gap')).toEqual([]);
      }
    }, 60_000);
  },
);
