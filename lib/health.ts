/** Dependency health: each probe gets its own deadline so one hung dependency cannot stall the others. */
export type ProbeStatus = 'ok' | 'unavailable';

export interface DependencyReport {
  status: ProbeStatus;
  latency_ms: number;
  error?: string;
}

export type Probe = () => Promise<void>;

export async function checkDependencies(
  probes: Record<string, Probe>,
  timeoutMs = 2_000,
): Promise<Record<string, DependencyReport>> {
  const entries = await Promise.all(
    Object.entries(probes).map(
      async ([name, probe]) => [name, await runProbe(probe, timeoutMs)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

async function runProbe(probe: Probe, timeoutMs: number): Promise<DependencyReport> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { status: 'ok', latency_ms: elapsed(started) };
  } catch (err) {
    // Only the first line: a probe's error may carry driver internals that do not belong in a response.
    const message = err instanceof Error ? err.message.split('\n')[0]! : 'unavailable';
    return { status: 'unavailable', latency_ms: elapsed(started), error: message };
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 10) / 10;
}
