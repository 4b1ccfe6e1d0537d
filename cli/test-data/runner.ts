/**
 * Carries out a plan against a running stack the way an integrating app would: clients over
 * REST; each session created, followed on its own WebSocket, started, talked through turn by turn
 * (every client line waits for the persona's reply as it arrives on the socket), then ended and
 * followed until session.ended brings its summary. Nothing is written to the database directly,
 * so the data has been through the real workflows, persona engine and analysis.
 *
 * Client lines go over the socket (`send_message`): it is how a chat app talks, and it leaves the
 * REST rate limit to the three calls per session (create, start, end).
 */
import { Api, ApiError, UnreachableError, wsUrl } from '../remote/api';
import { SessionSocket } from '../remote/session-socket';
import { SOURCE, type Plan, type PlannedClient, type PlannedSession } from './plan';
import type { Progress } from './progress';

/** What an interrupted run does (see the command's Ctrl-C handling). */
export class RunControl {
  /** No new clients or sessions; sessions in flight end after their current turn. */
  stopping = false;
  /** Sessions in flight are cancelled instead. */
  readonly abort = new AbortController();
  /** An error that makes going on pointless (the API is gone, the credentials are refused). */
  fatal: Error | undefined;

  fail(err: Error): void {
    this.fatal ??= err;
    this.stopping = true;
  }
}

export interface SessionFailure {
  session_id?: string;
  client_id?: string;
  error: string;
}

export interface RunReport {
  clientIds: string[];
  clientFailures: string[];
  completed: { session_id: string; client_id: string; persona_id: string; messages: number }[];
  failed: SessionFailure[];
  /** Cancelled on purpose by a second Ctrl-C. */
  cancelled: string[];
  notStarted: number;
}

export interface RunnerOptions {
  api: Api;
  plan: Plan;
  concurrency: number;
  replyTimeoutMs: number;
  progress: Progress;
  control: RunControl;
}

export async function runPlan(opts: RunnerOptions): Promise<RunReport> {
  const { plan, progress, control } = opts;
  const report: RunReport = {
    clientIds: [],
    clientFailures: [],
    completed: [],
    failed: [],
    cancelled: [],
    notStarted: 0,
  };

  const clientIds = new Array<string | undefined>(plan.clients.length);
  progress.phase('clients', plan.clients.length);
  await inPool(plan.clients, opts.concurrency, control, async (client, i) => {
    try {
      clientIds[i] = await createClient(opts.api, client);
      progress.tick(true);
    } catch (err) {
      noteFatal(control, err);
      report.clientFailures.push((err as Error).message);
      progress.tick(false);
    }
  });
  progress.stop();
  report.clientIds = clientIds.filter((id): id is string => id !== undefined);

  let started = 0;
  progress.phase('sessions', plan.sessions.length);
  await inPool(plan.sessions, opts.concurrency, control, async (session) => {
    started++;
    const clientId = clientIds[session.clientIndex];
    if (clientId === undefined) {
      report.failed.push({ error: 'its client could not be created' });
      progress.tick(false);
      return;
    }
    const outcome = await runSession(opts, session, clientId);
    if (outcome.kind === 'completed') report.completed.push(outcome.done);
    else if (outcome.kind === 'cancelled') report.cancelled.push(outcome.session_id);
    else report.failed.push(outcome.failure);
    progress.tick(outcome.kind === 'completed');
  });
  progress.stop();
  report.notStarted = plan.sessions.length - started;
  return report;
}

/** Runs `work` over `items`, `lanes` at a time, taking no new item once the run is stopping. */
async function inPool<T>(
  items: readonly T[],
  lanes: number,
  control: RunControl,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (!control.stopping && next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(lanes, items.length) }, lane));
}

function noteFatal(control: RunControl, err: unknown): void {
  if (
    err instanceof UnreachableError ||
    (err instanceof ApiError &&
      (err.status === 401 || err.status === 403 || err.code === 'rate_limited'))
  ) {
    control.fail(err);
  }
}

async function createClient(api: Api, client: PlannedClient): Promise<string> {
  const { concern: _concern, persona_id: _persona, ...fields } = client;
  try {
    return (await api.request<{ client_id: string }>('POST', '/api/v1/clients', fields)).client_id;
  } catch (err) {
    // Only if someone made this very address by hand: the client comes without an e-mail.
    if (!(err instanceof ApiError && err.status === 409 && fields.email)) throw err;
    const { email: _email, ...rest } = fields;
    return (await api.request<{ client_id: string }>('POST', '/api/v1/clients', rest)).client_id;
  }
}

type Outcome =
  | { kind: 'completed'; done: RunReport['completed'][number] }
  | { kind: 'cancelled'; session_id: string }
  | { kind: 'failed'; failure: SessionFailure };

async function runSession(
  opts: RunnerOptions,
  planned: PlannedSession,
  clientId: string,
): Promise<Outcome> {
  const { api, control, replyTimeoutMs: timeout } = opts;
  const signal = control.abort.signal;
  let sessionId: string;
  try {
    sessionId = (
      await api.request<{ session_id: string }>('POST', '/api/v1/sessions', {
        client_id: clientId,
        persona_id: planned.persona_id,
        goals: planned.goals,
        duration_minutes: planned.duration_minutes,
        metadata: {
          source: SOURCE,
          run: opts.plan.run,
          theme: planned.theme,
          follow_up: planned.followUp,
        },
      })
    ).session_id;
  } catch (err) {
    noteFatal(control, err);
    return { kind: 'failed', failure: { client_id: clientId, error: (err as Error).message } };
  }

  const socket = new SessionSocket(sessionId);
  let endAsked = false;
  const completed = (): Outcome => ({
    kind: 'completed',
    done: {
      session_id: sessionId,
      client_id: clientId,
      persona_id: planned.persona_id,
      messages: socket.transcript.length,
    },
  });
  try {
    await socket.connect(wsUrl(api.base), await api.freshBearer());
    await socket.join();
    await api.request('POST', `/api/v1/sessions/${sessionId}/start`);
    await socket.until(
      () => (socket.personaSpokeAfter() || socket.ended ? true : undefined),
      "the persona's opening line",
      timeout,
      signal,
    );
    for (const line of planned.lines) {
      if (control.stopping || socket.ended) break;
      const sent = await socket.send(line);
      await socket.until(
        () => (socket.personaSpokeAfter(sent.id) || socket.ended ? true : undefined),
        "the persona's reply",
        timeout,
        signal,
      );
    }
    if (!socket.ended) await endSession(api, sessionId);
    endAsked = true;
    const ending = await socket.until(() => socket.ending, 'the summary', timeout, signal);
    if (ending.how !== 'completed') throw new Error('the session was cancelled by someone else');
    if (!ending.summary) throw new Error('the session ended without a summary');
    return completed();
  } catch (err) {
    noteFatal(control, err);
    if (signal.aborted) {
      // Once ended it cannot be cancelled; its analysis finishes on the server without us.
      if (endAsked || socket.ended === 'completed') return completed();
      if (!socket.ended) await cancelSession(api, sessionId);
      return { kind: 'cancelled', session_id: sessionId };
    }
    // Nothing is left active: a session that cannot complete is cancelled.
    if (!socket.ended) await cancelSession(api, sessionId);
    return {
      kind: 'failed',
      failure: { session_id: sessionId, client_id: clientId, error: (err as Error).message },
    };
  } finally {
    await socket.close();
  }
}

async function endSession(api: Api, sessionId: string): Promise<void> {
  try {
    await api.request('POST', `/api/v1/sessions/${sessionId}/end`);
  } catch (err) {
    // Ended meanwhile (its timer, someone else): the socket says how.
    if (!(err instanceof ApiError && err.status === 409)) throw err;
  }
}

async function cancelSession(api: Api, sessionId: string): Promise<void> {
  try {
    await api.request('POST', `/api/v1/sessions/${sessionId}/cancel`);
  } catch {
    // Best effort: it may have ended meanwhile, or the API may be what failed.
  }
}
