/**
 * CPU time by process, from /proc: where a measured interval's work went. On a machine whose
 * cores every process shares, the sum per message bounds throughput (cores × 1,000 ms / sum).
 */
import { readFileSync } from 'node:fs';

export interface ProcessRef {
  name: string;
  pid: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ: 100 on Linux, whatever the kernel's HZ). */
const TICKS_PER_SECOND = 100;

/** User + system CPU time of a process, ms; undefined once it is gone or where /proc is absent. */
export function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/**
 * Starts counting: the returned function gives each process's CPU ms since, plus this process's
 * own (the load generator) as `bench (load generator)`.
 */
export function cpuSince(processes: ProcessRef[]): () => Record<string, number> {
  const before = new Map(processes.map((p) => [p, cpuMs(p.pid)]));
  const self = process.cpuUsage();
  return () => {
    const out: Record<string, number> = {};
    for (const [p, start] of before) {
      const end = cpuMs(p.pid);
      if (start !== undefined && end !== undefined) out[p.name] = (out[p.name] ?? 0) + end - start;
    }
    const used = process.cpuUsage(self);
    out['bench (load generator)'] = (used.user + used.system) / 1000;
    return out;
  };
}
