/**
 * Does a process leak? A pure judgement over its samples in time order (bench/load.ts's soak).
 *
 * The rule:
 *   - the first 10 % of the samples are a warm-up and left out (caches filling, JIT, pools);
 *   - of the rest, the medians of the first quarter (`first`), the middle half (`middle`) and
 *     the last quarter (`last`) are compared; growth = last − first;
 *   - heap "grows" when growth > 20 % of `first` AND it keeps rising: `last` exceeds `middle` by
 *     more than 5 % of `first` (a steady trend big enough to pass the 20 % always shows about
 *     half its growth between `middle` and `last`, so the margin only absorbs GC sawtooth);
 *   - handles and file descriptors "grow" when growth > 10 AND `last` exceeds `middle` by more
 *     than 2;
 *   - RSS is reported but not judged: the allocator keeps freed pages, so RSS lags the heap and
 *     rarely shrinks;
 *   - a one-off step (a pool filled, a cache reached its bound) that then stays flat has
 *     `last` ≈ `middle` and is not flagged, however big the step;
 *   - fewer than 8 samples after the warm-up: no verdict ("too few samples").
 */

export interface LeakSample {
  rssMb?: number;
  heapMb?: number;
  handles?: number;
  fds?: number;
}

export type Measure = 'heapMb' | 'rssMb' | 'handles' | 'fds';

export interface Trend {
  first: number;
  middle: number;
  last: number;
  growth: number;
  /** growth / first, in % */
  growthPct: number;
  /** This measure alone is judged a growing trend (never for RSS). */
  grows: boolean;
}

export interface LeakVerdict {
  verdict: 'flat' | 'grows' | 'too few samples';
  /** Per measure; absent where the process never reported it. */
  trends: Partial<Record<Measure, Trend>>;
  /** The measures that made it "grows". */
  growing: Measure[];
}

export const MIN_SAMPLES = 8;
const WARM_UP = 0.1;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

function trend(values: number[], measure: Measure): Trend | undefined {
  if (values.length < MIN_SAMPLES) return undefined;
  const q = Math.max(1, Math.floor(values.length / 4));
  const first = median(values.slice(0, q));
  const middle = median(values.slice(q, values.length - q));
  const last = median(values.slice(values.length - q));
  const growth = last - first;
  const growthPct = first > 0 ? (growth / first) * 100 : growth > 0 ? Infinity : 0;
  let grows = false;
  if (measure === 'heapMb') grows = growthPct > 20 && last - middle > 0.05 * first;
  else if (measure === 'handles' || measure === 'fds') grows = growth > 10 && last - middle > 2;
  return { first, middle, last, growth, growthPct, grows };
}

export function leakVerdict(samples: LeakSample[]): LeakVerdict {
  const afterWarmUp = samples.slice(Math.floor(samples.length * WARM_UP));
  const trends: LeakVerdict['trends'] = {};
  for (const m of ['heapMb', 'rssMb', 'handles', 'fds'] as const) {
    // A scrape that failed leaves a hole; the others still make the series.
    const values = afterWarmUp.flatMap((s) => (s[m] !== undefined ? [s[m]] : []));
    const t = trend(values, m);
    if (t) trends[m] = t;
  }
  const growing = (Object.keys(trends) as Measure[]).filter((m) => trends[m]!.grows);
  const verdict =
    afterWarmUp.length < MIN_SAMPLES ? 'too few samples' : growing.length ? 'grows' : 'flat';
  return { verdict, trends, growing };
}
