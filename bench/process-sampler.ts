/**
 * Samples an app child process from outside: its RSS and open file descriptors from /proc (Linux),
 * its V8 heap, active handles and (for workers) the Temporal SDK's sticky cache from its own
 * Prometheus `/metrics`. Shared by bench/scheduled.ts and bench/load.ts.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** A value of the Prometheus text format, summed over its label sets; undefined when absent. */
export function metric(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum = (sum ?? 0) + Number(m[2]);
  }
  return sum;
}

export interface ProcessSample {
  /** ms since the epoch */
  at: number;
  rssMb: number;
  /** Entries in /proc/<pid>/fd. */
  fds?: number;
  /** `nodejs_heap_size_used_bytes`, MB */
  heapMb?: number;
  /** `nodejs_active_handles_total` */
  handles?: number;
  /** `temporal_sticky_cache_size` (workers with the SDK's metrics) */
  stickyCache?: number;
}

/**
 * One sample of `pid`; undefined once the process is gone. A scrape of `/metrics` that fails or
 * takes longer than `scrapeTimeoutMs` leaves the metrics' fields out: the /proc figures still
 * count (a scrape that timed out says the process was busy, not small).
 */
export async function sampleProcess(
  pid: number,
  metricsUrl: string,
  scrapeTimeoutMs = 900,
): Promise<ProcessSample | undefined> {
  let sample: ProcessSample;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    sample = { at: Date.now(), rssMb: kb / 1024 };
  } catch {
    return undefined;
  }
  try {
    sample.fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    // Not readable (another user's process): the rest still counts.
  }
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(scrapeTimeoutMs) });
    const text = await res.text();
    const heap = metric(text, 'nodejs_heap_size_used_bytes');
    if (heap !== undefined) sample.heapMb = heap / 1024 / 1024;
    const handles = metric(text, 'nodejs_active_handles_total');
    if (handles !== undefined) sample.handles = handles;
    const cache = metric(text, 'temporal_sticky_cache_size');
    if (cache !== undefined) sample.stickyCache = cache;
  } catch {
    // See above.
  }
  return sample;
}

/**
 * Samples a process every `intervalMs` (and once right away). Returns a stop function handing
 * back the samples.
 */
export function sampleMemory(
  pid: number,
  metricsUrl: string,
  intervalMs = 1000,
): () => ProcessSample[] {
  const samples: ProcessSample[] = [];
  let busy = false;
  const tick = async () => {
    // A scrape slower than the interval (a busy worker) must not pile up behind itself.
    if (busy) return;
    busy = true;
    try {
      const sample = await sampleProcess(pid, metricsUrl, Math.min(900, intervalMs - 100));
      if (sample) samples.push(sample);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  void tick();
  return () => {
    clearInterval(timer);
    return samples;
  };
}
