/**
 * One durable workflow per therapy session (id `session-<session_id>`): the single writer of the
 * session's status, message order, notes and timers. Commands that need an answer are Updates
 * whose validators reject bad transitions before anything reaches history; live state is a
 * query; a plain `message` signal serves integrations that signal-with-start.
 */
import {
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PersonaActivities } from '../activities/persona';
import type { SessionActivities } from '../activities';
import type { Message, Note, Session, SessionSpec } from '../lib/schemas/session';
import type { SessionEventName } from '../lib/schemas/events';
import type { ReplyKind, SenderType } from '../personas/engine/types';
import {
  batchRisk,
  SessionState,
  type BatchRisk,
  type SessionStateSnapshot,
} from './session-state';
import { Sequencer } from './sequencer';
import { SESSION_SEARCH_ATTRIBUTES as SA } from './search-attributes';

// ---- messages ----

export interface SendMessageInput {
  /** Chosen by the caller, so a retried request is recognised and answered with the stored message. */
  message_id: string;
  content: string;
  sender_type: SenderType;
  /** Needed for facilitators; a client or persona message speaks for the session's own. */
  sender_id?: string;
  metadata?: Record<string, unknown>;
}

export interface AddNoteInput {
  note_id: string;
  content: string;
  author: string;
}

export interface SessionView extends Session {
  pending_replies: number;
}

/** Answers once the session document exists, so a read right after creation finds it. */
export const sessionCreatedUpdate = defineUpdate<Session>('sessionCreated');
export const startSessionUpdate = defineUpdate<Session>('startSession');
export const endSessionUpdate = defineUpdate<Session>('endSession');
export const cancelSessionUpdate = defineUpdate<Session>('cancelSession');
export const sendMessageUpdate = defineUpdate<Message, [SendMessageInput]>('sendMessage');
export const addNoteUpdate = defineUpdate<Note, [AddNoteInput]>('addNote');
export const messageSignal = defineSignal<[SendMessageInput]>('message');
export const sessionStateQuery = defineQuery<SessionView>('sessionState');

export interface SessionWorkflowOptions {
  /** Task queue of the persona pool (configurable, so one Temporal can host several stacks). */
  persona_task_queue?: string;
  /** Continue-as-new after this many history events even if Temporal has not suggested it. */
  continue_as_new_after_events?: number;
}

export interface SessionWorkflowInput {
  spec: SessionSpec;
  options?: SessionWorkflowOptions;
  /** Present after continue-as-new. */
  state?: SessionStateSnapshot;
}

/** Failure types the API maps to HTTP statuses. */
export const FAILURE = { invalidTransition: 'InvalidTransition' } as const;

// ---- activities ----

const store = proxyLocalActivities<SessionActivities>({
  // Short bookkeeping against MongoDB and NATS: local activities save a server round trip each.
  // No attempt limit: while a store is down the write waits for it, so nothing accepted is dropped.
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '200 ms', backoffCoefficient: 2, maximumInterval: '10 seconds' },
});

/** Histories from before the risk screen replay without it. */
const RISK_SCREEN_PATCH = 'risk-screen-before-reply';

/**
 * A scheduled start waits on two timers: a coarse one that wakes the workflow
 * START_TIMER_LEAD_MS early, then a precise one for the rest. Workflow time is the time its task
 * started, but Temporal arms a timer only when the task completes; the first task also saves the
 * session (local activities), which under load takes most of a second, so a single timer fired
 * that late. The second timer's task runs no activity before arming it. No patch marker is
 * needed: Temporal does not compare timer durations on replay, and the time each timer fired is
 * in the history, so histories with one timer replay on this path (test/workflow-compat).
 */
const START_TIMER_LEAD_MS = 5_000;

const personaActivities = (taskQueue: string) =>
  proxyActivities<PersonaActivities>({
    taskQueue,
    startToCloseTimeout: '2 minutes',
    retry: {
      initialInterval: '500 ms',
      backoffCoefficient: 2,
      maximumInterval: '30 seconds',
      maximumAttempts: 5,
      nonRetryableErrorTypes: ['UnknownPersona'],
    },
  });

// ---- the workflow ----

const WRAP_UP_MAX_LEAD_MS = 5 * 60_000;

export async function sessionWorkflow(input: SessionWorkflowInput): Promise<Session> {
  const { spec } = input;
  const state = SessionState.restore(spec, input.state);
  const persona = personaActivities(input.options?.persona_task_queue ?? 'personas');
  const writes = new Sequencer();
  const ref = {
    session_id: spec.session_id,
    client_id: spec.client_id,
    persona_id: spec.persona_id,
  };
  const now = () => new Date().toISOString();
  let personaBusy = false;

  const reject = (why: string | undefined) => {
    if (why)
      throw ApplicationFailure.create({
        type: FAILURE.invalidTransition,
        message: why,
        nonRetryable: true,
      });
  };
  const markStatus = () => upsertSearchAttributes([{ key: SA.status, value: state.status }]);
  const saveState = (event?: SessionEventName, extra: Partial<Session> = {}) =>
    writes.run(() =>
      store.applyTransition({
        session: { ...state.toSession(), ...extra },
        ...(event ? { event } : {}),
      }),
    );

  const acceptMessage = (msg: SendMessageInput): Promise<Message> => {
    if (state.knows(msg.message_id))
      return writes.run(() => store.getMessage({ message_id: msg.message_id }));
    state.remember(msg.message_id);
    return writes.run(async () => {
      // Place and time are taken when the write runs, so seq, timestamps and events agree.
      const message: Message = {
        id: msg.message_id,
        session_id: spec.session_id,
        sender_type: msg.sender_type,
        sender_id:
          msg.sender_type === 'client'
            ? spec.client_id
            : msg.sender_type === 'persona'
              ? spec.persona_id
              : (msg.sender_id ?? 'facilitator'),
        content: msg.content,
        timestamp: now(),
        ...(msg.metadata ? { metadata: msg.metadata } : {}),
      };
      const seq = state.accept(message);
      const input = { message: { ...message, seq }, session: ref };
      // Only a stored message is answered: a reply never precedes what it replies to. A client
      // message is screened for risk in the same write, so its alert is on the stream before
      // anything that follows.
      if (message.sender_type === 'client' && patched(RISK_SCREEN_PATCH)) {
        const { message: stored, risk } = await store.recordClientMessage(input);
        state.awaitReply(message, risk);
        return stored;
      }
      const stored = await store.recordMessage(input);
      if (message.sender_type === 'client') state.awaitReply(message);
      return stored;
    });
  };

  const begin = async (): Promise<Session> => {
    state.start(now());
    markStatus();
    await saveState('session.started');
    return state.toSession();
  };

  // ---- handlers ----

  setHandler(sessionStateQuery, () => ({
    ...state.toSession(),
    pending_replies: state.pending.length,
  }));

  setHandler(sessionCreatedUpdate, async () => {
    await condition(() => state.persisted);
    return state.toSession();
  });

  setHandler(startSessionUpdate, begin, { validator: () => reject(state.whyNot('start')) });

  setHandler(
    endSessionUpdate,
    async () => {
      state.end(now());
      markStatus();
      // session.ended follows the analysis, in the main loop.
      await saveState();
      return state.toSession();
    },
    { validator: () => reject(state.whyNot('end')) },
  );

  setHandler(
    cancelSessionUpdate,
    async () => {
      state.cancel(now());
      markStatus();
      await saveState('session.cancelled');
      return state.toSession();
    },
    { validator: () => reject(state.whyNot('cancel')) },
  );

  setHandler(sendMessageUpdate, acceptMessage, {
    validator: (msg: SendMessageInput) => {
      // A retry of an accepted message is answered, whatever the status is now.
      if (state.knows(msg.message_id)) return;
      reject(state.whyNot('send'));
    },
  });

  setHandler(messageSignal, async (msg) => {
    const why = state.knows(msg.message_id) ? undefined : state.whyNot('send');
    if (why) {
      // A signal has no caller to answer; drop it visibly rather than fail the workflow.
      log.warn('message signal ignored', { session_id: spec.session_id, reason: why });
      return;
    }
    await acceptMessage(msg);
  });

  setHandler(
    addNoteUpdate,
    (input) =>
      writes.run(async () => {
        const note: Note = {
          id: input.note_id,
          content: input.content,
          author: input.author,
          timestamp: now(),
        };
        state.addNote(note);
        return store.recordNote({ note, session: ref });
      }),
    { validator: (_input: AddNoteInput) => reject(state.whyNot('note')) },
  );

  // ---- persona turns ----

  /**
   * The persona's next message, written and published by the persona activity itself (one round
   * trip fewer per turn). It runs in the write sequence: a message sent meanwhile takes its place
   * after the reply, so the transcript and the live events keep one order.
   */
  const personaTurn = async (
    kind: ReplyKind,
    inReplyTo: string[] = [],
    risk?: BatchRisk,
  ): Promise<void> => {
    personaBusy = true;
    try {
      await writes.run(async () => {
        const seq = state.messageCount + 1;
        const reply = await persona.respond({
          session_id: spec.session_id,
          persona_id: spec.persona_id,
          ...(spec.persona_version !== undefined ? { persona_version: spec.persona_version } : {}),
          goals: spec.goals,
          kind,
          persona_turn: state.personaTurns,
          recent_turns: state.recent,
          wrap_up: state.wrapUpGiven,
          ...(minutesLeft() !== undefined ? { minutes_left: minutesLeft() } : {}),
          session: ref,
          message_id: `m_${uuid4().replace(/-/g, '').slice(0, 16)}`,
          seq,
          timestamp: now(),
          in_reply_to: inReplyTo,
          ...(risk ? { risk } : {}),
        });
        state.remember(reply.id);
        state.accept(reply);
      });
    } catch (err) {
      // The persona pool could not answer after its retries (e.g. an LLM outage). The session
      // goes on; the unanswered messages stay in the transcript.
      log.error('persona turn failed', { session_id: spec.session_id, kind, error: String(err) });
    } finally {
      personaBusy = false;
    }
  };

  const endAtMs = () =>
    state.startedAt ? Date.parse(state.startedAt) + spec.duration_minutes * 60_000 : Infinity;
  const wrapUpAtMs = () =>
    endAtMs() - Math.min(WRAP_UP_MAX_LEAD_MS, spec.duration_minutes * 60_000 * 0.2);
  const minutesLeft = () =>
    state.startedAt ? Math.max(0, Math.round((endAtMs() - Date.now()) / 60_000)) : undefined;

  const historyLimit = input.options?.continue_as_new_after_events;
  const shouldContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested ||
    (historyLimit !== undefined && workflowInfo().historyLength >= historyLimit);

  const continueFresh = async (): Promise<never> => {
    // Only between turns: nothing in flight, every handler finished, so nothing is lost or reordered.
    await condition(() => allHandlersFinished() && !personaBusy && writes.idle);
    return continueAsNew<typeof sessionWorkflow>({
      spec,
      options: input.options,
      state: state.snapshot(),
    });
  };

  // ---- main ----

  if (!state.persisted) {
    upsertSearchAttributes([
      { key: SA.clientId, value: spec.client_id },
      { key: SA.personaId, value: spec.persona_id },
      { key: SA.status, value: state.status },
      ...(spec.scheduled_at ? [{ key: SA.scheduledAt, value: new Date(spec.scheduled_at) }] : []),
    ]);
    upsertMemo({
      client_id: spec.client_id,
      persona_id: spec.persona_id,
      goals: spec.goals,
      duration_minutes: spec.duration_minutes,
    });
    await saveState('session.scheduled');
    state.persisted = true;
  }

  // Scheduled: wait for /start, a cancel, or the scheduled time (a durable timer).
  while (state.status === 'scheduled') {
    if (shouldContinueAsNew()) return continueFresh();
    const startAt = spec.scheduled_at ? Date.parse(spec.scheduled_at) : undefined;
    if (startAt !== undefined && startAt <= Date.now()) {
      await begin();
      break;
    }
    const changed = () => state.status !== 'scheduled' || shouldContinueAsNew();
    if (startAt === undefined) {
      await condition(changed);
      continue;
    }
    const wait = startAt - Date.now();
    const coarse = wait > 2 * START_TIMER_LEAD_MS;
    await condition(changed, coarse ? wait - START_TIMER_LEAD_MS : wait);
  }

  // Active: the persona opens, answers client messages, gives a wrap-up cue, and the session
  // ends itself when its duration is spent.
  while (state.status === 'active') {
    if (!state.openingSent) {
      state.openingSent = true;
      await personaTurn('opening');
      continue;
    }
    if (state.pending.length > 0) {
      const batch = state.takePending();
      await personaTurn(
        'response',
        batch.map((m) => m.id),
        batchRisk(batch),
      );
      continue;
    }
    if (!state.wrapUpGiven && Date.now() >= wrapUpAtMs()) {
      state.wrapUpGiven = true;
      await personaTurn('wrap_up');
      continue;
    }
    if (Date.now() >= endAtMs()) {
      state.end(now());
      markStatus();
      await saveState();
      break;
    }
    if (shouldContinueAsNew()) return continueFresh();
    const nextTimer = Math.min(state.wrapUpGiven ? Infinity : wrapUpAtMs(), endAtMs()) - Date.now();
    await condition(
      () => state.status !== 'active' || state.pending.length > 0 || shouldContinueAsNew(),
      Math.max(1, nextTimer),
    );
  }

  if (state.status === 'completed') {
    const analysis = await persona.analyzeSession({
      ...ref,
      goals: spec.goals,
      ...(spec.persona_version !== undefined ? { persona_version: spec.persona_version } : {}),
    });
    await saveState('session.ended', { summary: analysis.summary, insights: analysis.insights });
  }

  await condition(allHandlersFinished);
  return state.toSession();
}
