/**
 * `npm run bench`: every benchmark against one freshly started stack, each figure beside its
 * floor measured in the same run, written to BENCHMARKS.md, bench/results/latest.json and
 * bench/results/latency-vs-load.svg.
 *
 *   npm run bench -- [--quick] [--only a,e] [--deadline SECONDS] [--output BENCHMARKS.md]
 *                    [--sessions 1,10,100,500] [--checkpoints 10,100,1000,5000]
 *
 * Bounded in count and in time: no scenario starts after the deadline, each stops its own loops
 * at it, and a watchdog stops the stack and exits shortly after it whatever is still running.
 * The results are rewritten after every step, so a stopped run leaves what it had measured.
 * Loopback only.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { measureFloors } from './floors';
import { ROOT, log, runCli, startBenchApp, startBenchStack, type BenchStack } from './harness';
import { latencyVsLoadSvg } from './plot';
import { machine, renderMarkdown, type RunRecord, type ScenarioRecord } from './report';
import { SCENARIOS, type Scenario, type ScenarioContext } from './scenarios';

/** How long past the deadline the watchdog lets a step finish before stopping everything. */
const GRACE_MS = 120_000;
const RESULTS = path.join(ROOT, 'bench', 'results');
const JSON_FILE = path.join(RESULTS, 'latest.json');
const SVG_FILE = path.join(RESULTS, 'latency-vs-load.svg');
/** Hand-written: profiling findings and before/after figures, appended to BENCHMARKS.md. */
const CHANGES_FILE = path.join(ROOT, 'bench', 'changes.md');

interface Options {
  quick: boolean;
  scenarios: Scenario[];
  deadlineSeconds: number;
  output: string;
  sessions?: number[];
  checkpoints?: number[];
}

const numbers = (list?: string) => list?.split(',').map((n) => Number(n.trim()));

function options(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      deadline: { type: 'string' },
      output: { type: 'string', default: 'BENCHMARKS.md' },
      sessions: { type: 'string' },
      checkpoints: { type: 'string' },
    },
  });
  const only = values.only?.split(',').map((k) => k.trim());
  const unknown = only?.filter((k) => !SCENARIOS.some((s) => s.key === k)) ?? [];
  if (unknown.length) {
    throw new Error(
      `--only: no scenario ${unknown.join(', ')}; there are ${SCENARIOS.map((s) => s.key)
        .sort()
        .join(', ')}`,
    );
  }
  return {
    quick: values.quick,
    scenarios: only ? SCENARIOS.filter((s) => only.includes(s.key)) : SCENARIOS,
    deadlineSeconds: Number(values.deadline ?? (values.quick ? 900 : 5400)),
    output: path.resolve(values.output),
    sessions: numbers(values.sessions),
    checkpoints: numbers(values.checkpoints),
  };
}

/** Writes the JSON, the plot (when turnaround ran) and the Markdown as they stand; the files. */
function writeResults(run: RunRecord, output: string): string[] {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(JSON_FILE, JSON.stringify(run, null, 2) + '\n');
  const curve = run.scenarios.find((s) => s.outcome?.loadCurve)?.outcome?.loadCurve;
  let plot: string | undefined;
  if (curve && run.floors) {
    const caption = `${run.quick ? 'QUICK RUN — ' : ''}${run.startedAt}, ${run.machine.cores} cores, ${run.machine.cpu}`;
    writeFileSync(SVG_FILE, latencyVsLoadSvg(curve, run.floors.update.p50, caption));
    plot = path.relative(path.dirname(output), SVG_FILE);
  }
  const changes = existsSync(CHANGES_FILE) ? readFileSync(CHANGES_FILE, 'utf8') : undefined;
  writeFileSync(output, renderMarkdown(run, plot, changes));
  return [output, JSON_FILE, ...(plot ? [SVG_FILE] : [])];
}

async function runScenario(s: Scenario, ctx: ScenarioContext): Promise<ScenarioRecord> {
  const record: ScenarioRecord = { key: s.key, title: s.title };
  if (Date.now() > ctx.deadlineAt) return { ...record, missing: 'the deadline passed first' };
  log(`scenario (${s.key}) ${s.title}`);
  const started = performance.now();
  try {
    record.outcome = await s.run(ctx);
  } catch (err) {
    log(`scenario (${s.key}) failed: ${(err as Error).stack ?? String(err)}`);
    record.missing = `failed: ${(err as Error).message}`;
  }
  record.seconds = (performance.now() - started) / 1000;
  return record;
}

/** Stops the stack and exits once the deadline and its grace are past, keeping what was written. */
function watchdog(run: RunRecord, opts: Options, stack: () => BenchStack | undefined) {
  return setTimeout(
    () => {
      log('deadline passed: stopping');
      run.stoppedBy = `the --deadline of ${opts.deadlineSeconds} s (+ ${GRACE_MS / 1000} s grace) stopped the run`;
      run.loadAverageAtEnd = os.loadavg();
      writeResults(run, opts.output);
      const stopping = stack()?.stop() ?? Promise.resolve();
      void stopping.finally(() => process.exit(2));
    },
    opts.deadlineSeconds * 1000 + GRACE_MS,
  );
}

async function main(): Promise<void> {
  const opts = options();
  const deadlineAt = Date.now() + opts.deadlineSeconds * 1000;
  const run: RunRecord = {
    command: [
      'npm run bench',
      ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : []),
    ].join(' '),
    quick: opts.quick,
    startedAt: new Date().toISOString(),
    machine: machine(),
    scenarios: [],
  };
  let bench: BenchStack | undefined;
  const timer = watchdog(run, opts, () => bench);
  // Stopped by hand: keep what was measured and take the stack and the app processes down too.
  const interrupted = (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    run.stoppedBy = `${signal} stopped the run`;
    run.loadAverageAtEnd = os.loadavg();
    writeResults(run, opts.output);
    void (bench?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    bench = await startBenchStack({ tokenTtlSeconds: opts.deadlineSeconds + 600 });
    const app = await startBenchApp(bench);
    run.floors = await measureFloors(app, {
      updateSamples: opts.quick ? 50 : 300,
      natsSamples: opts.quick ? 200 : 2000,
      load: { connections: 16, warmup: opts.quick ? 1 : 2, duration: opts.quick ? 2 : 5 },
      deadlineAt,
    });
    writeResults(run, opts.output);
    const ctx: ScenarioContext = { app, floors: run.floors, quick: opts.quick, deadlineAt };
    if (opts.sessions) ctx.sessions = opts.sessions;
    if (opts.checkpoints) ctx.checkpoints = opts.checkpoints;
    for (const s of opts.scenarios) {
      run.scenarios.push(await runScenario(s, ctx));
      writeResults(run, opts.output);
    }
  } finally {
    await bench?.stop();
    clearTimeout(timer);
  }
  run.finishedAt = new Date().toISOString();
  run.loadAverageAtEnd = os.loadavg();
  log(`wrote ${writeResults(run, opts.output).join(', ')}`);
  if (run.scenarios.some((s) => s.missing?.startsWith('failed'))) process.exitCode = 1;
}

if (require.main === module) runCli(main);
