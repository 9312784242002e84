import type { FanoutTarget } from '../../src/connection/fanout';
import type { Outbound } from '../../src/connection/outbound';
import { memoryBackplane, type BackplaneHost, type Publication } from '../../src/pubsub/backplane';
import { Topics } from '../../src/pubsub/topics';

/** A target whose outbound records the payloads it is handed. */
function target(): FanoutTarget & { got: unknown[] } {
  const got: unknown[] = [];
  const outbound = {
    sendShared: (message: { payload: Buffer | string }) => got.push(message.payload),
  } as unknown as Outbound;
  return { got, openOutbound: outbound };
}

/** A host that only delivers. */
const host = (deliver: (m: Publication) => unknown): BackplaneHost => ({
  deliver,
  gap: () => undefined,
  report: () => undefined,
});

const text = (topic: string, payload: string): Publication => ({ topic, payload, binary: false });

describe('memoryBackplane()', () => {
  it('delivers a publication to each other instance that joined its topic, in order, never back to its publisher', () => {
    const bus = memoryBackplane();
    const got: Record<string, string[]> = { a: [], b: [], c: [] };
    const [a, b, c] = ['a', 'b', 'c'].map((name) =>
      bus.attach(host((m) => got[name].push(`${m.topic}:${m.payload}`))),
    );
    a.join('t');
    b.join('t');
    c.join('other');
    a.publish(text('t', '1'));
    a.publish(text('t', '2'));
    b.publish(text('t', '3'));
    c.publish(text('t', '4'));
    expect(got).toEqual({ a: ['t:3', 't:4'], b: ['t:1', 't:2', 't:4'], c: [] });
  });

  it('stops delivering to an instance that left the topic or closed, and carries nothing from a closed one', async () => {
    const bus = memoryBackplane();
    const got: string[] = [];
    const a = bus.attach(host(() => got.push('a')));
    const b = bus.attach(host(() => got.push('b')));
    a.join('t');
    b.join('t');
    b.publish(text('t', 'x'));
    a.leave('t');
    b.publish(text('t', 'x'));
    a.join('t');
    await a.close();
    b.publish(text('t', 'x'));
    a.publish(text('t', 'x'));
    expect(got).toEqual(['a']);
  });
});

describe('Topics over a memory backplane', () => {
  it("reaches every instance's subscribers exactly once, its own through fanout only", () => {
    const bus = memoryBackplane();
    const one = new Topics<FanoutTarget>(bus);
    const two = new Topics<FanoutTarget>(bus);
    const [a1, a2, b1] = [target(), target(), target()];
    one.join(a1, 'news');
    one.join(a2, 'news');
    two.join(b1, 'news');
    const seen: string[] = [];
    two.topic$('news').subscribe((m) => seen.push(`two:${m.data}`));
    one.topic$('news').subscribe((m) => seen.push(`one:${m.data}`));

    expect(one.publish('news', 'from one', undefined)).toBe(2);
    expect(two.publish('news', 'from two', undefined)).toBe(1);
    expect([a1.got, a2.got, b1.got]).toEqual([
      ['from one', 'from two'],
      ['from one', 'from two'],
      ['from one', 'from two'],
    ]);
    expect(seen).toEqual(['one:from one', 'two:from one', 'two:from two', 'one:from two']);
  });

  it("waits in whenJoined() for the backplane's join of a topic, and only for that topic's", async () => {
    let done!: () => void;
    const topics = new Topics<FanoutTarget>({
      attach: () => ({
        publish: () => undefined,
        join: (t) => (t === 'slow' ? new Promise<void>((resolve) => (done = resolve)) : undefined),
        leave: () => undefined,
        close: () => Promise.resolve(),
      }),
    });
    const settled: string[] = [];
    topics.join(target(), 'slow');
    topics.join(target(), 'fast');
    const slow = topics.whenJoined('slow').then(() => settled.push('slow'));
    await topics.whenJoined('fast').then(() => settled.push('fast'));
    await topics.whenJoined('nobody here').then(() => settled.push('nobody'));
    expect(settled).toEqual(['fast', 'nobody']);
    done();
    await slow;
    expect(settled).toEqual(['fast', 'nobody', 'slow']);
    await expect(topics.whenJoined('slow')).resolves.toBeUndefined();
    expect(() => topics.whenJoined('')).toThrow('topic must be a non-empty string, got ""');
  });

  it('joins the backplane at the first local subscriber or observer of a topic and leaves at the last', async () => {
    const calls: string[] = [];
    const topics = new Topics<FanoutTarget>({
      attach: () => ({
        publish: (m) => calls.push(`publish ${m.topic}`),
        join: (t) => void calls.push(`join ${t}`),
        leave: (t) => calls.push(`leave ${t}`),
        close: async () => void calls.push('close'),
      }),
    });
    const [x, y] = [target(), target()];
    topics.join(x, 't');
    topics.join(y, 't');
    const watching = topics.topic$('t').subscribe();
    topics.leave(x, 't');
    topics.leaveAll(y);
    expect(calls).toEqual(['join t']);
    watching.unsubscribe();
    topics.topic$('u').subscribe().unsubscribe();
    topics.publish('t', 'nobody', undefined);
    await topics.close();
    await topics.close();
    topics.publish('t', 'closed', undefined);
    expect(calls).toEqual(['join t', 'leave t', 'join u', 'leave u', 'publish t', 'close']);
  });
});
