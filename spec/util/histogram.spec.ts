import { LatencyHistogram, bucketOf, bucketUpperBound } from '../../src/util/histogram';

/** A histogram with these durations recorded. */
function recorded(values: number[]): LatencyHistogram {
  const h = new LatencyHistogram();
  for (const v of values) h.record(v);
  return h;
}

describe('bucketOf', () => {
  it.each([
    [1e-6],
    [0.001],
    [0.5],
    [1],
    [1.0001],
    [1.19],
    [1.2],
    [2],
    [3],
    [999.9],
    [1000],
    [60_000],
  ])('puts %p ms in the first bucket whose upper bound is at least it', (ms) => {
    const i = bucketOf(ms);
    expect(bucketUpperBound(i)).toBeGreaterThanOrEqual(ms);
    if (i > 0) expect(bucketUpperBound(i - 1)).toBeLessThan(ms);
  });

  it('keeps every bound in its own bucket, from about 1 µs to 17.5 minutes', () => {
    for (let k = -40; k <= 80; k++) {
      const bound = 2 ** (k / 4);
      expect([k, bucketUpperBound(bucketOf(bound))]).toEqual([k, bound]);
    }
  });

  it('has 4 buckets per doubling', () => {
    expect(bucketOf(2) - bucketOf(1)).toBe(4);
    expect(bucketOf(1.0001) - bucketOf(1)).toBe(1);
    expect(bucketOf(1024) - bucketOf(1)).toBe(40);
  });

  it.each([[0], [-5], [NaN], [1e-9]])('puts %p in the first bucket', (ms) => {
    expect(bucketOf(ms)).toBe(0);
  });

  it('puts anything past the last bound in the last bucket, unbounded', () => {
    const last = bucketOf(2 ** 20 * 1.01);
    expect(bucketOf(1e12)).toBe(last);
    expect(bucketUpperBound(last)).toBe(Infinity);
  });
});

describe('LatencyHistogram', () => {
  it.each<[string, number[], { count: number; p50: number; p99: number; max: number }]>([
    ['nothing', [], { count: 0, p50: 0, p99: 0, max: 0 }],
    ['one duration', [5], { count: 1, p50: 5, p99: 5, max: 5 }],
    ['one duration on a bound', [4], { count: 1, p50: 4, p99: 4, max: 4 }],
    ['equal durations', [2, 2, 2], { count: 3, p50: 2, p99: 2, max: 2 }],
    // 1 falls in the bucket ending at 1; 3 in the one ending at 2^(7/4), capped at the max.
    ['two durations', [1, 3], { count: 2, p50: 1, p99: 3, max: 3 }],
    ['a negative duration', [-1], { count: 1, p50: 0, p99: 0, max: 0 }],
  ])('summarizes %s', (_name, values, expected) => {
    expect(recorded(values).summary()).toEqual(expected);
  });

  it('reads percentiles as the upper bound of their bucket, within 19% above', () => {
    const h = recorded(Array.from({ length: 100 }, (_, i) => i + 1));
    const { count, p50, p99, max } = h.summary();
    expect(count).toBe(100);
    // The 50th value (50) is in the bucket ending at 2^(23/4); the 99th (99) in the one ending
    // at 2^(27/4), above the longest (100), so the longest.
    expect(p50).toBe(2 ** (23 / 4));
    expect(p99).toBe(100);
    expect(max).toBe(100);
    expect(p50).toBeGreaterThanOrEqual(50);
    expect(p50).toBeLessThanOrEqual(50 * 2 ** 0.25);
  });

  it('keeps p50 <= p99 <= max whatever it records', () => {
    const h = new LatencyHistogram();
    let x = 7;
    for (let i = 0; i < 10_000; i++) {
      // A fixed pseudo-random series spanning 1 µs to 100 s.
      x = (x * 48271) % 2147483647;
      h.record(10 ** ((x / 2147483647) * 8 - 3));
      const { p50, p99, max } = h.summary();
      if (!(p50 <= p99 && p99 <= max)) throw new Error(`${p50} ${p99} ${max} after ${i + 1}`);
    }
    expect(h.count).toBe(10_000);
  });

  it('records the longest duration exactly', () => {
    expect(recorded([0.25, 1234.5678, 3]).summary().max).toBe(1234.5678);
  });

  it('returns a frozen summary', () => {
    expect(Object.isFrozen(recorded([1]).summary())).toBe(true);
  });
});
