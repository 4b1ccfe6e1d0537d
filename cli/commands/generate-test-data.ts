/**
 * `smart-steps generate-test-data --clients 50 --sessions 200`: fills a running stack with
 * realistic clients and completed sessions, each talked through with a persona by the real
 * workflows (see ../test-data/runner.ts). Every run adds new records (its run token makes the
 * e-mail addresses unique), so it can be run again at will.
 *
 * Ctrl-C (or SIGTERM) stops starting sessions and lets those in flight end normally, with their
 * summary; a second Ctrl-C cancels them; a third leaves at once. The summary of what was created
 * is printed either way.
 */
import { randomBytes } from 'node:crypto';
import { UsageError } from '../index';
import { Api, apiBase, signIn } from '../remote/api';
import { planRun, type Plan } from '../test-data/plan';
import { Progress, formatDuration } from '../test-data/progress';
import { seedFrom } from '../test-data/random';
import { RunControl, runPlan, type RunReport } from '../test-data/runner';
import { commandConfig, parseFlags } from './support';

const EXIT_INTERRUPTED = 130;

interface Settings {
  clients: number;
  sessions: number;
  turns: { min: number; max: number };
  concurrency: number;
  seed: number;
  personas: string[] | undefined;
  replyTimeoutMs: number;
  json: boolean;
}

export async function runGenerateTestData(args: string[]): Promise<void> {
  const flags = parseFlags(args, {
    clients: { type: 'string' },
    sessions: { type: 'string' },
    turns: { type: 'string' },
    concurrency: { type: 'string' },
    seed: { type: 'string' },
    personas: { type: 'string' },
    'reply-timeout': { type: 'string' },
    json: { type: 'boolean' },
    url: { type: 'string' },
    username: { type: 'string' },
    password: { type: 'string' },
    'api-key': { type: 'string' },
  });
  const settings: Settings = {
    clients: count(flags.clients, 'clients', 50, 0, 10_000),
    sessions: count(flags.sessions, 'sessions', 200, 0, 100_000),
    turns: turnRange(flags.turns ?? '4-8'),
    concurrency: count(flags.concurrency, 'concurrency', 4, 1, 64),
    seed: flags.seed === undefined ? randomBytes(4).readUInt32BE() : seedOf(flags.seed),
    personas: flags.personas
      ?.split(',')
      .map((p) => p.trim())
      .filter(Boolean),
    replyTimeoutMs: count(flags['reply-timeout'], 'reply-timeout', 120, 1, 3600) * 1000,
    json: flags.json === true,
  };
  if (settings.sessions > 0 && settings.clients === 0) {
    throw new UsageError('--sessions needs clients to hold them: --clients must be at least 1');
  }
  const config = commandConfig(args);

  const progress = new Progress(process.stderr);
  // Parallel sessions meet the same limit together: one note per wait, not one per session.
  let quietUntil = 0;
  const api = new Api(apiBase(flags.url, config), {
    onRateLimited: ({ route, waitMs, scope }) => {
      if (Date.now() + waitMs <= quietUntil) return;
      quietUntil = Date.now() + waitMs;
      progress.note(
        `rate limited${scope ? ` (${scope} limit)` : ''} at ${route}; waiting ${formatDuration(waitMs)} as the API asks`,
      );
    },
  });
  await signIn(api, flags, config);
  const personas = await choosePersonas(api, settings.personas);
  const run = runToken();
  const plan = planRun({ ...settings, run, personas });

  const control = new RunControl();
  const startedAt = Date.now();
  const detach = onInterrupt(control, progress);
  let report: RunReport;
  try {
    report = await runPlan({
      api,
      plan,
      concurrency: settings.concurrency,
      replyTimeoutMs: settings.replyTimeoutMs,
      progress,
      control,
    });
  } finally {
    detach();
    progress.stop();
  }

  const summary = summarise(api, plan, settings, report, control, Date.now() - startedAt);
  process.stdout.write(settings.json ? `${JSON.stringify(summary, null, 2)}\n` : text(summary));
  if (control.fatal) throw control.fatal;
  if (control.stopping) process.exitCode = EXIT_INTERRUPTED;
  else if (summary.clients.failed > 0 || summary.sessions.failed > 0) process.exitCode = 1;
}

function count(
  value: string | undefined,
  flag: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
    throw new UsageError(`--${flag} must be a whole number from ${min} to ${max}, got '${value}'`);
  }
  return n;
}

/** `6` or `4-8`: each session takes a number of client turns in that range. */
function turnRange(value: string): { min: number; max: number } {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(value);
  const min = m ? Number(m[1]) : NaN;
  const max = m?.[2] !== undefined ? Number(m[2]) : min;
  if (!(min >= 1 && max >= min && max <= 50)) {
    throw new UsageError(
      `--turns must be a number of turns or a range like 4-8, from 1 to 50; got '${value}'`,
    );
  }
  return { min, max };
}

/** A whole number is the seed itself (as the summary prints it); other text is hashed. */
function seedOf(value: string): number {
  return /^\d{1,10}$/.test(value) && Number(value) <= 0xffffffff ? Number(value) : seedFrom(value);
}

/** Six lower-case letters and digits that tell this run's records apart. */
function runToken(): string {
  return randomBytes(8).readBigUInt64BE().toString(36).slice(-6).padStart(6, '0');
}

async function choosePersonas(api: Api, wanted: string[] | undefined): Promise<string[]> {
  const personas = await api.listAll<{ persona_id: string }>('/api/v1/personas', 'personas');
  const available = personas.map((p) => p.persona_id);
  if (!wanted) {
    if (available.length === 0) throw new Error('the API lists no personas');
    return available;
  }
  const unknown = wanted.filter((p) => !available.includes(p));
  if (unknown.length > 0 || wanted.length === 0) {
    throw new Error(
      `unknown persona${unknown.length === 1 ? '' : 's'} '${unknown.join("', '")}'; available: ${available.join(', ')}`,
    );
  }
  return wanted;
}

/** First Ctrl-C: finish what is in flight; second: cancel it; third: leave now. */
function onInterrupt(control: RunControl, progress: Progress): () => void {
  let count = 0;
  const handler = () => {
    count++;
    if (count === 1) {
      control.stopping = true;
      progress.note(
        'stopping: sessions in flight end after their current turn (Ctrl-C again cancels them)',
      );
    } else if (count === 2) {
      control.abort.abort();
      progress.note('cancelling the sessions in flight (Ctrl-C again leaves at once)');
    } else {
      process.exit(EXIT_INTERRUPTED);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

export interface Summary {
  url: string;
  run: string;
  seed: number;
  requested: { clients: number; sessions: number; turns: string; concurrency: number };
  clients: { created: number; failed: number; ids: string[] };
  sessions: {
    completed: number;
    failed: number;
    cancelled: number;
    not_started: number;
    ids: string[];
  };
  messages: number;
  personas: Record<string, number>;
  duration_seconds: number;
  rate_limit_waits: number;
  rate_limit_wait_seconds: number;
  interrupted: boolean;
  failures: { session_id?: string; client_id?: string; error: string }[];
  error?: string;
}

function summarise(
  api: Api,
  plan: Plan,
  settings: Settings,
  report: RunReport,
  control: RunControl,
  durationMs: number,
): Summary {
  const personas: Record<string, number> = {};
  for (const s of report.completed) personas[s.persona_id] = (personas[s.persona_id] ?? 0) + 1;
  const { min, max } = settings.turns;
  return {
    url: api.base,
    run: plan.run,
    seed: plan.seed,
    requested: {
      clients: settings.clients,
      sessions: settings.sessions,
      turns: min === max ? String(min) : `${min}-${max}`,
      concurrency: settings.concurrency,
    },
    clients: {
      created: report.clientIds.length,
      failed: report.clientFailures.length,
      ids: report.clientIds,
    },
    sessions: {
      completed: report.completed.length,
      failed: report.failed.length,
      cancelled: report.cancelled.length,
      not_started: report.notStarted,
      ids: report.completed.map((s) => s.session_id),
    },
    messages: report.completed.reduce((n, s) => n + s.messages, 0),
    personas,
    duration_seconds: Math.round(durationMs / 100) / 10,
    rate_limit_waits: api.rateLimitWaits,
    rate_limit_wait_seconds: Math.round(api.rateLimitWaitMs / 1000),
    interrupted: control.stopping && !control.fatal,
    failures: [...report.clientFailures.map((error) => ({ error })), ...report.failed],
    ...(control.fatal ? { error: control.fatal.message } : {}),
  };
}

function text(s: Summary): string {
  const lines = [
    `Created ${s.clients.created} client${s.clients.created === 1 ? '' : 's'} and ${s.sessions.completed} completed session${s.sessions.completed === 1 ? '' : 's'} (${s.messages} messages) in ${formatDuration(s.duration_seconds * 1000)} at ${s.url}`,
    `  personas: ${Object.entries(s.personas)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ')}`,
    `  run ${s.run}, seed ${s.seed} (--seed ${s.seed} makes the same people and conversations again)`,
  ];
  if (s.sessions.completed === 0) lines.splice(1, 1);
  if (s.clients.failed) lines.push(`  clients failed: ${s.clients.failed}`);
  if (s.sessions.failed) lines.push(`  sessions failed: ${s.sessions.failed}`);
  if (s.sessions.cancelled) lines.push(`  sessions cancelled: ${s.sessions.cancelled}`);
  if (s.sessions.not_started) {
    lines.push(
      `  sessions not started: ${s.sessions.not_started}${s.interrupted ? ' (interrupted)' : ''}`,
    );
  }
  if (s.rate_limit_waits) {
    lines.push(
      `  held back by rate limits for ${formatDuration(s.rate_limit_wait_seconds * 1000)} (${s.rate_limit_waits} request${s.rate_limit_waits === 1 ? '' : 's'} sent again after a 429)`,
    );
  }
  for (const f of s.failures.slice(0, 10)) {
    lines.push(`  failure${f.session_id ? ` (${f.session_id})` : ''}: ${f.error}`);
  }
  if (s.failures.length > 10) lines.push(`  … and ${s.failures.length - 10} more failures`);
  return `${lines.join('\n')}\n`;
}
