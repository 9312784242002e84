import { HoldQueue, type OverflowPolicy } from '../../src/util/hold-queue';

function queue(limit: { bytes: number; messages: number }, policy: OverflowPolicy) {
  const dropped: Array<[string, OverflowPolicy, boolean]> = [];
  const q = new HoldQueue<string>(
    (held, p, evicted) => dropped.push([held.value, p, evicted]),
    limit,
    policy,
  );
  const take = (): string[] => {
    const out: string[] = [];
    for (let held = q.shift(); held; held = q.shift()) out.push(held.value);
    return out;
  };
  return { q, dropped, take };
}

describe('HoldQueue', () => {
  it('keeps values in order and counts their bytes, now and at peak', () => {
    const { q, take } = queue({ bytes: 100, messages: 10 }, 'error');
    q.offer('a', 10);
    q.offer('b', 20);
    expect(q.length).toBe(2);
    expect(q.bytes).toBe(30);
    expect(q.shift()?.value).toBe('a');
    q.offer('c', 5);
    expect(take()).toEqual(['b', 'c']);
    expect(q.length).toBe(0);
    expect(q.bytes).toBe(0);
    expect(q.peakBytes).toBe(30);
  });

  it('drop-newest: refuses the value that does not fit, by count or by bytes', () => {
    const { q, dropped, take } = queue({ bytes: 25, messages: 2 }, 'drop-newest');
    expect(q.offer('a', 10)).toBeDefined();
    expect(q.offer('b', 20)).toBeUndefined();
    expect(q.offer('c', 10)).toBeDefined();
    expect(q.offer('d', 1)).toBeUndefined();
    expect(dropped).toEqual([
      ['b', 'drop-newest', false],
      ['d', 'drop-newest', false],
    ]);
    expect(take()).toEqual(['a', 'c']);
  });

  it('drop-oldest: evicts from the front until the new value fits', () => {
    const { q, dropped, take } = queue({ bytes: 30, messages: 3 }, 'drop-oldest');
    q.offer('a', 10);
    q.offer('b', 10);
    q.offer('c', 10);
    q.offer('d', 25);
    expect(dropped).toEqual([
      ['a', 'drop-oldest', true],
      ['b', 'drop-oldest', true],
      ['c', 'drop-oldest', true],
    ]);
    expect(take()).toEqual(['d']);
  });

  it('drop-oldest: a value larger than the whole bound is dropped itself and evicts nothing', () => {
    const { q, dropped, take } = queue({ bytes: 30, messages: 3 }, 'drop-oldest');
    q.offer('a', 10);
    expect(q.offer('huge', 31)).toBeUndefined();
    expect(dropped).toEqual([['huge', 'drop-newest', false]]);
    expect(take()).toEqual(['a']);
  });

  it.each(['error', 'close'] as const)(
    '%s: refuses the value and leaves the queue as it was',
    (policy) => {
      const { q, dropped, take } = queue({ bytes: 100, messages: 1 }, policy);
      q.offer('a', 1);
      expect(q.offer('b', 1)).toBeUndefined();
      expect(dropped).toEqual([['b', policy, false]]);
      expect(take()).toEqual(['a']);
    },
  );

  it('withdraw() takes a queued value out once; clear() returns what is left, in order', () => {
    const { q, take } = queue({ bytes: 100, messages: 10 }, 'error');
    const a = q.offer('a', 1)!;
    q.offer('b', 2);
    q.offer('c', 3);
    expect(q.withdraw(a)).toBe(true);
    expect(q.withdraw(a)).toBe(false);
    expect(q.length).toBe(2);
    expect(q.bytes).toBe(5);
    expect(q.clear().map((h) => h.value)).toEqual(['b', 'c']);
    expect(q.length).toBe(0);
    expect(q.bytes).toBe(0);
    expect(take()).toEqual([]);
  });

  it('does not keep the slots of taken values while it never empties', () => {
    const { q } = queue({ bytes: Infinity, messages: Infinity }, 'error');
    q.offer('first', 1);
    for (let i = 0; i < 10_000; i++) {
      q.offer(String(i), 1);
      q.shift();
    }
    expect(q.length).toBe(1);
    expect((q as unknown as { items: unknown[] }).items.length).toBeLessThan(2100);
    expect(q.shift()?.value).toBe('9999');
  });
});

describe('HoldQueue memory', () => {
  it('keeps no reference to a value once it has left the queue', () => {
    const q = new HoldQueue<object>(
      () => undefined,
      { bytes: Infinity, messages: 2 },
      'drop-oldest',
    );
    for (let i = 0; i < 10; i++) q.offer({ i }, 1);
    const slots = (q as unknown as { items: unknown[] }).items;
    // Only the two queued values are still held by the queue's array.
    expect(slots.filter((s) => s !== undefined)).toHaveLength(2);
  });
});
