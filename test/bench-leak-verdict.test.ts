/**
 * The soak's leak rule (bench/leak-verdict.ts), on made-up series: pure, no servers.
 */
import { leakVerdict, type LeakSample } from '../bench/leak-verdict';

/** `n` samples, the i-th from `f(i)`. */
const series = (n: number, f: (i: number) => LeakSample): LeakSample[] =>
  Array.from({ length: n }, (_, i) => f(i));

/** A small deterministic wobble (GC sawtooth, a handle or two coming and going). */
const wobble = (i: number, size: number) => ((((i * 7) % 5) - 2) * size) / 2;

describe('leakVerdict', () => {
  it('passes a flat series', () => {
    const v = leakVerdict(
      series(60, (i) => ({
        heapMb: 50 + wobble(i, 2),
        rssMb: 150 + wobble(i, 4),
        handles: 20 + (i % 3),
        fds: 30 + (i % 2),
      })),
    );
    expect(v.verdict).toBe('flat');
    expect(v.growing).toEqual([]);
    expect(Math.abs(v.trends.heapMb!.growthPct)).toBeLessThan(20);
  });

  it('flags a heap that rises steadily', () => {
    // 50 MB → 100 MB over the run.
    const v = leakVerdict(
      series(60, (i) => ({ heapMb: 50 + (50 * i) / 59 + wobble(i, 2), handles: 20, fds: 30 })),
    );
    expect(v.verdict).toBe('grows');
    expect(v.growing).toEqual(['heapMb']);
    expect(v.trends.heapMb!.growthPct).toBeGreaterThan(20);
  });

  it('flags handles and descriptors that rise steadily, even with a flat heap', () => {
    const v = leakVerdict(
      series(60, (i) => ({ heapMb: 50, handles: 20 + i, fds: 30 + Math.floor(i / 2) })),
    );
    expect(v.verdict).toBe('grows');
    expect(v.growing).toEqual(['handles', 'fds']);
  });

  it('does not flag a one-off step that then stays flat', () => {
    // +60 % heap and +40 handles a third of the way in (a pool filled), flat after that.
    const v = leakVerdict(
      series(60, (i) =>
        i < 20
          ? { heapMb: 50 + wobble(i, 2), handles: 20, fds: 30 }
          : { heapMb: 80 + wobble(i, 2), handles: 60, fds: 30 },
      ),
    );
    expect(v.trends.heapMb!.growthPct).toBeGreaterThan(20);
    expect(v.trends.handles!.growth).toBeGreaterThan(10);
    expect(v.verdict).toBe('flat');
  });

  it('never judges RSS alone', () => {
    const v = leakVerdict(series(60, (i) => ({ heapMb: 50, rssMb: 100 + 5 * i })));
    expect(v.trends.rssMb!.growth).toBeGreaterThan(100);
    expect(v.verdict).toBe('flat');
  });

  it('gives no verdict on too few samples', () => {
    expect(leakVerdict(series(5, (i) => ({ heapMb: 50 + 10 * i }))).verdict).toBe(
      'too few samples',
    );
  });

  it('ignores holes where a scrape failed', () => {
    const v = leakVerdict(
      series(60, (i) => (i % 4 === 0 ? { rssMb: 100 } : { rssMb: 100, heapMb: 50 + i })),
    );
    expect(v.verdict).toBe('grows');
    expect(v.growing).toEqual(['heapMb']);
  });
});
