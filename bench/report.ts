/** BENCHMARKS.md and bench/results/latest.json from one `npm run bench` run. */
import * as os from 'node:os';
import type { Floors } from './floors';
import type { ScenarioOutcome, Table, Verdict } from './scenarios';

export interface Machine {
  platform: string;
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  /** 1, 5 and 15 minute load averages. */
  loadAverage: number[];
}

export function machine(): Machine {
  const cpus = os.cpus();
  return {
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cores: cpus.length,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    loadAverage: os.loadavg(),
  };
}

export interface ScenarioRecord {
  key: string;
  title: string;
  outcome?: ScenarioOutcome;
  /** Why it has no outcome: failed, or not started before the deadline. */
  missing?: string;
  seconds?: number;
}

export interface RunRecord {
  command: string;
  quick: boolean;
  startedAt: string;
  finishedAt?: string;
  machine: Machine;
  loadAverageAtEnd?: number[];
  floors?: Floors;
  scenarios: ScenarioRecord[];
  /** Set when the run's deadline stopped it before everything was measured. */
  stoppedBy?: string;
}

const ms = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const load = (l?: number[]) => (l ? l.map((v) => v.toFixed(2)).join(' / ') : '–');

/** A column of figures (right-aligned): every filled cell starts with a digit or a dash. */
const numeric = (t: Table, column: number) =>
  t.rows.every((r) => !r[column] || /^[\d–-]/.test(r[column]));

export function table(t: Table): string[] {
  return [
    `_${t.title}_`,
    '',
    `| ${t.head.join(' | ')} |`,
    `| ${t.head.map((_, i) => (numeric(t, i) ? '---:' : '---')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ];
}

function verdict(v: Verdict): string {
  const word = v.meets === undefined ? 'NOT MEASURED' : v.meets ? 'MEETS' : 'MISSES';
  return `- **${word}** ${v.target}: ${v.detail}`;
}

function floorsSection(f: Floors): string[] {
  return table({
    title: 'measured once, at the start of this run, on the same stack',
    head: ['floor', 'what', 'p50 ms', 'p95 ms', 'p99 ms', 'req/s'],
    rows: [
      [
        'Temporal',
        'no-op Update round trip',
        ms(f.update.p50),
        ms(f.update.p95),
        ms(f.update.p99),
        '',
      ],
      [
        'NATS',
        'core publish → subscribe round trip',
        ms(f.nats.p50),
        ms(f.nats.p95),
        ms(f.nats.p99),
        '',
      ],
      [
        'Koa',
        'bare route, small JSON, 16 connections',
        ms(f.koa.p50),
        '',
        ms(f.koa.p99),
        f.koa.rps.toFixed(0),
      ],
      [
        'MongoDB',
        'bare route, sessions.findOne({_id}), 16 connections',
        ms(f.mongo.p50),
        '',
        ms(f.mongo.p99),
        f.mongo.rps.toFixed(0),
      ],
    ],
  });
}

/**
 * `appendix`: hand-written Markdown kept in bench/changes.md — what profiling found and the
 * before/after figures of the changes it led to, which one run cannot measure by itself.
 */
export function renderMarkdown(run: RunRecord, plotPath?: string, appendix?: string): string {
  const m = run.machine;
  const out: string[] = ['# Benchmarks', ''];
  if (run.quick) {
    out.push(
      '> **Quick run** (`--quick`): small counts to check the harness. These are not the figures; run `npm run bench` without `--quick` on a quiet machine for them.',
      '',
    );
  }
  if (run.stoppedBy) out.push(`> **Incomplete**: ${run.stoppedBy}`, '');
  out.push(
    `- Date: ${run.startedAt} → ${run.finishedAt ?? '(stopped)'}`,
    `- Command: \`${run.command}\``,
    `- Machine: ${m.cores} cores, ${m.cpu}, ${m.memoryGiB.toFixed(1)} GiB, ${m.platform}, node ${m.node}`,
    `- Load average (1/5/15 min): ${load(m.loadAverage)} at start, ${load(run.loadAverageAtEnd)} at end`,
    '- Everything on loopback, on this one machine: the stack (Temporal, NATS, FerretDB), the app processes and the load generator share its cores.',
    '',
    '## Floors',
    '',
  );
  if (run.floors) out.push(...floorsSection(run.floors));
  else out.push('Not measured.', '');
  for (const s of run.scenarios) {
    out.push(`## (${s.key}) ${s.title}`, '');
    if (!s.outcome) {
      out.push(`Not measured: ${s.missing ?? 'unknown'}`, '');
      continue;
    }
    for (const t of s.outcome.tables) out.push(...table(t));
    if (s.outcome.loadCurve && plotPath) out.push(`![latency against load](${plotPath})`, '');
    out.push(...s.outcome.verdicts.map(verdict));
    out.push(...s.outcome.notes.map((n) => `- ${n}`));
    if (s.seconds !== undefined) out.push(`- took ${s.seconds.toFixed(0)} s`);
    out.push('');
  }
  if (appendix) out.push(appendix.trim(), '');
  return out.join('\n');
}
