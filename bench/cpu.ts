/**
 * CPU time by process, from /proc: where a measured interval's work went. On a machine whose
 * cores every process shares, the sum per message bounds throughput (cores × 1,000 ms / sum).
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import type { Table } from './scenarios';
import type { TurnaroundRow } from './turnaround';

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

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');

/**
 * Where each reply's CPU went, by process. Every process shares the machine's cores, so the sum
 * bounds throughput: cores × 1,000 ms / sum replies a second, however the load is spread.
 */
export function cpuTable(rows: TurnaroundRow[]): Table[] {
  const counted = rows.filter((r) => r.cpuMsPerReply);
  if (!counted.length) return [];
  const names = [...new Set(counted.flatMap((r) => Object.keys(r.cpuMsPerReply!)))].sort();
  const cores = os.cpus().length;
  const sum = (r: TurnaroundRow) => Object.values(r.cpuMsPerReply!).reduce((a, b) => a + b, 0);
  return [
    {
      title: `CPU ms per reply by process (user + system, from /proc), and the throughput that sum allows on ${cores} cores`,
      head: ['process', ...counted.map((r) => `${r.sessions} sessions`)],
      rows: [
        ...names.map((name) => [name, ...counted.map((r) => ms(r.cpuMsPerReply![name] ?? NaN))]),
        ['all', ...counted.map((r) => ms(sum(r)))],
        [
          `bound: ${cores} × 1000 / all (msg/s)`,
          ...counted.map((r) => ((cores * 1000) / sum(r)).toFixed(0)),
        ],
        ['measured msg/s', ...counted.map((r) => r.perSecond.toFixed(1))],
      ],
    },
  ];
}
