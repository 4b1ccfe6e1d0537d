/**
 * A session's live state and its rules, as a plain class the workflow drives. It holds only
 * what the workflow needs (status, counters, the last few turns for the persona's context, the
 * client messages still waiting for a reply); the transcript itself lives in MongoDB.
 * Deterministic: no I/O, no clock of its own (times are passed in).
 */
import type { Message, Session, SessionSpec, SessionStatus, Note } from '../lib/schemas/session';
import type { SenderType, Turn } from '../personas/engine/types';
import type { ScreenResult } from '../activities/safety';
import { higher } from '../lib/schemas/safety';

/** Turns kept for the persona's context; older ones are only in MongoDB. */
export const RECENT_TURNS = 12;
/** Message ids remembered to answer a retried send with the stored message instead of a copy. */
const REMEMBERED_IDS = 200;

export interface PendingMessage {
  id: string;
  content: string;
  /** The risk screen's verdict (absent for messages accepted before the screen existed). */
  risk?: ScreenResult;
}

/** What the persona must know of a batch's risk: its worst message, and whether to answer with care. */
export interface BatchRisk extends ScreenResult {
  message_id: string;
}

/** The most severe screen result of a batch, or undefined when none of it carries a risk. */
export function batchRisk(batch: readonly PendingMessage[]): BatchRisk | undefined {
  let worst: BatchRisk | undefined;
  for (const m of batch) {
    if (!m.risk || m.risk.level === 'none') continue;
    if (!worst || higher(m.risk.level, worst.level) !== worst.level)
      worst = { ...m.risk, message_id: m.id };
  }
  if (!worst) return undefined;
  // Any crisis in the batch makes the reply a crisis reply, naming every risk it heard.
  const crisis = batch.some((m) => m.risk?.crisis);
  const categories = [...new Set(batch.flatMap((m) => m.risk?.categories ?? []))];
  return { ...worst, crisis, categories };
}

/** Everything carried across continue-as-new. */
export interface SessionStateSnapshot {
  status: SessionStatus;
  started_at?: string;
  ended_at?: string;
  cancelled_at?: string;
  message_count: number;
  persona_turns: number;
  note_count: number;
  recent: Turn[];
  pending: PendingMessage[];
  opening_sent: boolean;
  wrap_up_given: boolean;
  persisted: boolean;
  known_ids: string[];
}

export class TransitionError extends Error {}

export class SessionState {
  status: SessionStatus = 'scheduled';
  startedAt?: string;
  endedAt?: string;
  cancelledAt?: string;
  messageCount = 0;
  personaTurns = 0;
  noteCount = 0;
  recent: Turn[] = [];
  pending: PendingMessage[] = [];
  openingSent = false;
  wrapUpGiven = false;
  persisted = false;
  private knownIds: string[] = [];

  constructor(readonly spec: SessionSpec) {}

  static restore(spec: SessionSpec, snap?: SessionStateSnapshot): SessionState {
    const s = new SessionState(spec);
    if (!snap) return s;
    s.status = snap.status;
    s.startedAt = snap.started_at;
    s.endedAt = snap.ended_at;
    s.cancelledAt = snap.cancelled_at;
    s.messageCount = snap.message_count;
    s.personaTurns = snap.persona_turns;
    s.noteCount = snap.note_count;
    s.recent = snap.recent;
    s.pending = snap.pending;
    s.openingSent = snap.opening_sent;
    s.wrapUpGiven = snap.wrap_up_given;
    s.persisted = snap.persisted;
    s.knownIds = snap.known_ids;
    return s;
  }

  snapshot(): SessionStateSnapshot {
    return {
      status: this.status,
      started_at: this.startedAt,
      ended_at: this.endedAt,
      cancelled_at: this.cancelledAt,
      message_count: this.messageCount,
      persona_turns: this.personaTurns,
      note_count: this.noteCount,
      recent: this.recent,
      pending: this.pending,
      opening_sent: this.openingSent,
      wrap_up_given: this.wrapUpGiven,
      persisted: this.persisted,
      known_ids: this.knownIds,
    };
  }

  // ---- rules (each returns why an action is not allowed, or undefined) ----

  /** Why `action` does not fit the session now, or undefined when it does. */
  whyNot(action: SessionAction): string | undefined {
    return whyNot(action, this.status);
  }

  // ---- transitions ----

  start(now: string): void {
    this.assert(this.whyNot('start'));
    this.status = 'active';
    this.startedAt = now;
  }

  end(now: string): void {
    this.assert(this.whyNot('end'));
    this.status = 'completed';
    this.endedAt = now;
  }

  cancel(now: string): void {
    this.assert(this.whyNot('cancel'));
    this.status = 'cancelled';
    this.cancelledAt = now;
  }

  /** Adds a message to the conversation and returns its place (seq) in the transcript. */
  accept(message: Message): number {
    this.messageCount++;
    this.pushTurn(message.sender_type, message.content);
    if (message.sender_type === 'persona') this.personaTurns++;
    return this.messageCount;
  }

  /** Queues a stored client message for the persona's next reply. */
  awaitReply(message: Message, risk?: ScreenResult): void {
    this.pending.push({ id: message.id, content: message.content, ...(risk ? { risk } : {}) });
  }

  knows(messageId: string): boolean {
    return this.knownIds.includes(messageId);
  }

  addNote(_note: Note): void {
    this.noteCount++;
  }

  /** Takes every client message waiting for a reply: the persona answers them together. */
  takePending(): PendingMessage[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  toSession(): Session {
    return {
      ...this.spec,
      status: this.status,
      ...(this.startedAt ? { started_at: this.startedAt } : {}),
      ...(this.endedAt ? { ended_at: this.endedAt } : {}),
      ...(this.cancelledAt ? { cancelled_at: this.cancelledAt } : {}),
      message_count: this.messageCount,
    };
  }

  private pushTurn(sender_type: SenderType, content: string): void {
    this.recent.push({ sender_type, content });
    if (this.recent.length > RECENT_TURNS) this.recent.splice(0, this.recent.length - RECENT_TURNS);
  }

  /** Marks an id as accepted as soon as it is queued, so a retry arriving meanwhile is recognised. */
  remember(id: string): void {
    this.knownIds.push(id);
    if (this.knownIds.length > REMEMBERED_IDS)
      this.knownIds.splice(0, this.knownIds.length - REMEMBERED_IDS);
  }

  private assert(why: string | undefined): void {
    if (why) throw new TransitionError(why);
  }
}

export type SessionAction = 'start' | 'end' | 'cancel' | 'send' | 'note';

/**
 * Why an action does not fit a status, or undefined when it does. Shared with the API, which
 * answers for sessions whose workflow has already closed, in the same words.
 */
export function whyNot(action: SessionAction, status: SessionStatus): string | undefined {
  switch (action) {
    case 'start':
      if (status === 'active') return 'Session is already active';
      if (status !== 'scheduled') return `Session is ${status} and cannot be started`;
      return undefined;
    case 'end':
      if (status === 'scheduled') return 'Session has not started; cancel it instead';
      if (status !== 'active') return `Session is already ${status}`;
      return undefined;
    case 'cancel':
      if (status === 'completed' || status === 'cancelled') return `Session is already ${status}`;
      return undefined;
    case 'send':
      if (status === 'scheduled') return 'Session has not started yet';
      if (status !== 'active') return `Session is ${status}; no more messages are accepted`;
      return undefined;
    case 'note':
      if (status === 'cancelled') return 'Session is cancelled';
      return undefined;
  }
}
