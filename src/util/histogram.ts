/**
 * A latency histogram on fixed log-scale buckets: pure, no I/O, no allocation per sample.
 */

/** Count and percentiles of a set of durations, in milliseconds. */
export interface LatencySummary {
  /** How many durations were recorded. */
  readonly count: number;
  /**
   * The median and the 99th percentile: the upper bound of the bucket holding them (at most
   * 19% above the true value, never above `max`); 0 when nothing was recorded.
   */
  readonly p50: number;
  readonly p99: number;
  /** The longest duration recorded, exactly; 0 when nothing was recorded. */
  readonly max: number;
}

/** Buckets per doubling: bucket bounds grow by 2^(1/4), about 19%. */
const PER_DOUBLING = 4;
/** The first bucket's upper bound is 2^(LOWEST/4) ms, about 1 µs; it takes everything below. */
const LOWEST = -10 * PER_DOUBLING;
/** The last bounded bucket ends at 2^(HIGHEST/4) ms, about 17.5 minutes; one more takes the rest. */
const HIGHEST = 20 * PER_DOUBLING;
const BUCKETS = HIGHEST - LOWEST + 2;

/** The upper bound, in ms, of bucket `index` (the last one has none: Infinity). */
export function bucketUpperBound(index: number): number {
  return index >= BUCKETS - 1 ? Infinity : 2 ** ((index + LOWEST) / PER_DOUBLING);
}

/** The bucket a duration of `ms` falls in: the first whose upper bound is at least `ms`. */
export function bucketOf(ms: number): number {
  if (!(ms > 2 ** (LOWEST / PER_DOUBLING))) return 0;
  let index = Math.ceil(Math.log2(ms) * PER_DOUBLING) - LOWEST;
  // log2 rounds: a value on (or a hair off) a bound may land one bucket off; the bounds decide.
  if (bucketUpperBound(index - 1) >= ms) index--;
  else if (bucketUpperBound(index) < ms) index++;
  return index < BUCKETS - 1 ? index : BUCKETS - 1;
}

/**
 * Durations in milliseconds, counted in fixed buckets of 2^(k/4) ms (about 1 µs to 17.5 minutes,
 * plus one below and one above): recording one costs a logarithm and an increment, the memory
 * is fixed (one array of about 120 numbers), and percentiles are read from the counts.
 */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private total = 0;
  private longest = 0;

  /** Records one duration in ms; a negative or NaN one counts as 0. */
  record(ms: number): void {
    this.counts[bucketOf(ms)]++;
    this.total++;
    if (ms > this.longest) this.longest = ms;
  }

  /** How many durations were recorded. */
  get count(): number {
    return this.total;
  }

  /**
   * The duration at quantile `q` (0 < q <= 1): the upper bound of the bucket that holds the
   * ⌈q·count⌉-th shortest duration, capped at the longest one; 0 when empty.
   */
  quantile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(bucketUpperBound(i), this.longest);
    }
    return this.longest;
  }

  /** Count, median, 99th percentile and longest, as of now: a new frozen object. */
  summary(): LatencySummary {
    return Object.freeze({
      count: this.total,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      max: this.longest,
    });
  }
}
