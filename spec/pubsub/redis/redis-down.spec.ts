import type { LogEntry } from '../../../src';
import { Instance, OwnRedis, stopInstances, uniquePrefix } from '../../helpers/redis';

/**
 * Redis goes away: local delivery goes on, each instance reports it (`backplane` entries) and
 * reconnects by itself; in pub/sub mode the messages an instance missed are reported as a gap of
 * the right size, in streams mode none is missing. Each test runs its own redis-server (on a
 * port of its own), since it stops it: never the shared one.
 */

let redis: OwnRedis | undefined;
afterEach(async () => {
  await stopInstances();
  await redis?.stop();
  redis = undefined;
});

const texts = (from: string, first: number, n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${from}:${first + i}`);

const isDown = (e: LogEntry): boolean => e.type === 'backplane' && e.event === 'down';
const upAgain = (instance: Instance) => (e: LogEntry) =>
  e.type === 'backplane' && e.event === 'up' && instance.logs.some(isDown);

describe('redisBackplane(): Redis stopped and started again', () => {
  /**
   * Instances a (publishes) and b, a client on each; a publishes 10, Redis stops, a publishes 5
   * (its own client gets all 15), Redis starts again.
   */
  async function restarted(mode: 'pubsub' | 'streams') {
    redis = await OwnRedis.start();
    const prefix = uniquePrefix();
    const [a, b] = await Promise.all(
      ['a', 'b'].map((instanceId) =>
        Instance.start({ url: redis!.url, prefix, mode, instanceId, watch: 'room' }),
      ),
    );
    const onA = await a.client('room');
    const onB = await b.client('room');
    await a.publish('room', texts('a', 0, 10));
    await onB.count(10);

    await redis.stop();
    await Promise.all([a.logged(isDown), b.logged(isDown)]);
    await a.publish('room', texts('a', 10, 5));
    expect(await onA.count(15)).toEqual(texts('a', 0, 15));
    await redis.start();
    return { a, b, onA, onB };
  }

  it('pubsub: delivers locally while down, reports the unsent publishes, and the other instance reports the gap with its size', async () => {
    const { a, b, onA, onB } = await restarted('pubsub');
    const up = await a.logged(upAgain(a));
    expect(up).toMatchObject({ type: 'backplane', event: 'up', unsent: 5 });
    await b.logged(upAgain(b));
    await a.publish('room', texts('a', 15, 10));
    expect(await onB.count(20)).toEqual([...texts('a', 0, 10), ...texts('a', 15, 10)]);
    const gap = await b.logged((e) => e.type === 'gap');
    expect(gap).toMatchObject({ type: 'gap', topic: 'room', publisher: 'a', missed: 5 });
    expect(b.topicGaps).toEqual([{ type: 'gap', topic: 'room', publisher: 'a', missed: 5 }]);
    expect(b.logs.filter((e) => e.type === 'gap')).toHaveLength(1);
    expect(onA.texts).toEqual(texts('a', 0, 25));
  }, 60_000);

  it('streams: a publisher keeps what it could not send and sends it when Redis is back; nothing is missing, no gap', async () => {
    const { a, b, onB } = await restarted('streams');
    expect(await a.logged(upAgain(a))).toMatchObject({ event: 'up', unsent: 0 });
    await a.publish('room', texts('a', 15, 10));
    expect(await onB.count(25)).toEqual(texts('a', 0, 25));
    expect(b.logs.filter((e) => e.type === 'gap')).toEqual([]);
    expect(b.topicGaps).toEqual([]);

    // A topic joined after the reconnection is read too (the reading connection is a new one).
    const onB2 = await b.client('later');
    await a.publish('later', texts('a', 0, 3));
    expect(await onB2.count(3)).toEqual(texts('a', 0, 3));
  }, 60_000);
});

describe('redisBackplane(): one instance cut off while the others go on', () => {
  /** Instances a (publishes) and b (cut off by turning its Redis user off), b's client. */
  async function cutOff(mode: 'pubsub' | 'streams') {
    redis = await OwnRedis.start();
    redis.cli('ACL', 'SETUSER', 'bee', 'on', '>secret', '~*', '&*', '+@all');
    const prefix = uniquePrefix();
    const a = await Instance.start({ url: redis.url, prefix, mode, instanceId: 'a' });
    const b = await Instance.start({
      url: redis.url,
      prefix,
      mode,
      instanceId: 'b',
      watch: 'room',
      clientOptions: { username: 'bee', password: 'secret' },
    });
    const onB = await b.client('room');
    await a.publish('room', texts('a', 0, 10));
    await onB.count(10);
    // b's connections are closed and it cannot log in again until the user is back on.
    redis.cli('ACL', 'SETUSER', 'bee', 'off');
    redis.cli('CLIENT', 'KILL', 'USER', 'bee');
    await b.logged(isDown);
    await a.publish('room', texts('a', 10, 7));
    redis.cli('ACL', 'SETUSER', 'bee', 'on');
    await b.logged(upAgain(b));
    return { a, b, onB };
  }

  it("pubsub: the instance learns from the publisher's next mark how many it missed, before any new message", async () => {
    const { a, b, onB } = await cutOff('pubsub');
    const gap = await b.logged((e) => e.type === 'gap');
    expect(gap).toMatchObject({ topic: 'room', publisher: 'a', missed: 7 });
    await a.publish('room', texts('a', 17, 3));
    expect(await onB.count(13)).toEqual([...texts('a', 0, 10), ...texts('a', 17, 3)]);
    expect(b.logs.filter((e) => e.type === 'gap')).toHaveLength(1);
    expect(b.topicGaps).toEqual([{ type: 'gap', topic: 'room', publisher: 'a', missed: 7 }]);
  }, 60_000);

  it('streams: the instance catches up on what was published while it was cut off', async () => {
    const { a, b, onB } = await cutOff('streams');
    expect(await onB.count(17)).toEqual(texts('a', 0, 17));
    await a.publish('room', texts('a', 17, 3));
    expect(await onB.count(20)).toEqual(texts('a', 0, 20));
    expect(b.logs.filter((e) => e.type === 'gap')).toEqual([]);
  }, 60_000);
});
