/**
 * Session commands and reads for the API edge. Commands go to the session's workflow as
 * Updates (so the caller gets the stored resource back); reads come from the MongoDB read
 * models the workflow's activities keep current before each Update returns.
 */
import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  isGrpcServiceError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Db } from 'mongodb';
import { FieldCrypto } from '../../lib/crypto/fields';
import type { SessionReadCache } from './read-cache';
import type { Config } from '../../lib/config';
import {
  ConflictError,
  NotFoundError,
  ServiceUnavailableError,
  ValidationError,
} from '../../lib/errors';
import { idFrom, newId } from '../../lib/ids';
import { findVisible, visibleTo, type Actor } from '../access';
import { fromView, WITHOUT_VIEW, type SessionViewFields } from '../../lib/store/session-view';
import { readPagedById, readWholeTranscript } from '../../lib/store/transcript-pages';
import { whyNot, type SessionAction } from '../../workflows/session-state';
import {
  COLLECTIONS,
  type ClientDoc,
  type MessageDoc,
  type NoteDoc,
  type SessionDoc,
} from '../../lib/store/collections';
import type {
  AddNoteRequest,
  CreateSessionRequest,
  Message,
  Note,
  SendMessageRequest,
  Session,
  SessionSpec,
} from '../../lib/schemas/session';
import {
  FAILURE,
  addNoteUpdate,
  cancelSessionUpdate,
  endSessionUpdate,
  sendMessageUpdate,
  sessionCreatedUpdate,
  sessionWorkflow,
  startSessionUpdate,
  type SessionWorkflowOptions,
} from '../../workflows/session';

export interface PersonaCatalog {
  get(
    personaId: string,
  ):
    | { persona_id: string; version?: number }
    | undefined
    | Promise<{ persona_id: string; version?: number } | undefined>;
}

export interface SessionDetails extends Session {
  messages: Message[];
  facilitator_notes: Note[];
}

/** Details as cached: with the owner, checked on every read. */
export type OwnedDetails = SessionDetails & { owner_id?: string };

/** The store-side `visibleTo` filter, applied to a document already read. */
const mayView = (actor: Actor, ownerId: string | undefined) =>
  !actor.restrict_to || actor.restrict_to === ownerId;

/** A scheduled time this far in the past still counts as "now" (clock skew between machines). */
const SCHEDULE_SKEW_MS = 60_000;

/** Internal fields that never leave the API. */
export const INTERNAL = { _id: 0, updated_at: 0, analysis: 0, owner_id: 0 } as const;
/** …nor the details view, which only `get` reads. */
const HIDDEN = {
  projection: { ...INTERNAL, ...WITHOUT_VIEW },
} as const;

/** What a session list shows of each session. */
export type SessionListItem = Pick<
  Session,
  | 'session_id'
  | 'client_id'
  | 'persona_id'
  | 'status'
  | 'scheduled_at'
  | 'started_at'
  | 'ended_at'
  | 'duration_minutes'
>;
export const LIST_ITEM = {
  projection: {
    _id: 0,
    session_id: 1,
    client_id: 1,
    persona_id: 1,
    status: 1,
    scheduled_at: 1,
    started_at: 1,
    ended_at: 1,
    duration_minutes: 1,
  },
} as const;
/** Listings up to this many sessions are read whole, so the page and its total take one query. */
const LIST_WINDOW = 200;

export const workflowIdFor = (sessionId: string) => `session-${sessionId}`;

export class SessionService {
  constructor(
    private readonly temporal: Client,
    private readonly db: Db,
    private readonly config: Config,
    private readonly personas: PersonaCatalog,
    private readonly fields: FieldCrypto = FieldCrypto.fromConfig(config),
    private readonly cache?: SessionReadCache<OwnedDetails>,
  ) {}

  private get sessions() {
    return this.db.collection<SessionDoc>(COLLECTIONS.sessions);
  }

  async create(req: CreateSessionRequest, actor: Actor): Promise<Session> {
    const persona = await this.personas.get(req.persona_id);
    if (!persona) {
      throw new ValidationError(`Unknown persona: ${req.persona_id}`, {
        field: 'persona_id',
        reason: 'no such persona',
      });
    }
    if (req.scheduled_at && Date.parse(req.scheduled_at) < Date.now() - SCHEDULE_SKEW_MS) {
      throw new ValidationError('scheduled_at is in the past', {
        field: 'scheduled_at',
        reason: 'must be in the future',
      });
    }
    await this.assertClientVisible(req.client_id, actor);
    const spec: SessionSpec = {
      session_id: newId('session'),
      client_id: req.client_id,
      persona_id: req.persona_id,
      ...(persona.version !== undefined ? { persona_version: persona.version } : {}),
      goals: req.goals,
      duration_minutes: req.duration_minutes,
      ...(req.scheduled_at ? { scheduled_at: req.scheduled_at } : {}),
      created_at: new Date().toISOString(),
      created_by: actor.name,
      ...(actor.owner_id ? { owner_id: actor.owner_id } : {}),
      metadata: req.metadata,
    };
    return this.startWorkflow(spec);
  }

  /** A session or series may only be booked for a client the caller can see. */
  async assertClientVisible(clientId: string, actor: Actor): Promise<void> {
    const found = await findVisible(
      this.db.collection<ClientDoc>(COLLECTIONS.clients),
      clientId,
      actor,
      { _id: 1 },
    );
    if (!found) {
      throw new ValidationError(`Unknown client: ${clientId}`, {
        field: 'client_id',
        reason: 'no such client',
      });
    }
  }

  /** Starts a session's workflow and answers once its document is stored. */
  async startWorkflow(spec: SessionSpec): Promise<Session> {
    const startOperation = new WithStartWorkflowOperation(sessionWorkflow, {
      workflowId: workflowIdFor(spec.session_id),
      taskQueue: this.config.temporal.task_queues.sessions,
      args: [{ spec, options: this.workflowOptions() }],
      workflowIdConflictPolicy: 'FAIL',
    });
    const deadline = Date.now() + this.config.temporal.create_timeout_seconds * 1000;
    try {
      return await this.call(spec.session_id, () =>
        this.temporal.connection.withDeadline(deadline, () =>
          this.temporal.workflow.executeUpdateWithStart(sessionCreatedUpdate, {
            startWorkflowOperation: startOperation,
          }),
        ),
      );
    } catch (err) {
      if (err instanceof ServiceUnavailableError) await this.undoStart(spec.session_id);
      throw err;
    }
  }

  /**
   * A create the caller is told failed must not leave a session behind: a workflow the server
   * started but that stored nothing yet (its worker busy or away) would otherwise store itself
   * later, and start at its time, unknown to the caller, who retries with a new session.
   * Terminated, it never runs. One already stored is left alone: it is what the caller asked for.
   */
  private async undoStart(sessionId: string): Promise<void> {
    if (await this.sessions.findOne({ _id: sessionId }, { projection: { _id: 1 } })) return;
    await this.temporal.workflow
      .getHandle(workflowIdFor(sessionId))
      .terminate('not stored within temporal.create_timeout_seconds; the create was answered 503')
      .catch(() => undefined);
  }

  workflowOptions(): SessionWorkflowOptions {
    return {
      persona_task_queue: this.config.temporal.task_queues.personas,
      ...(this.config.temporal.continue_as_new_after_events
        ? { continue_as_new_after_events: this.config.temporal.continue_as_new_after_events }
        : {}),
    };
  }

  /**
   * Newest first, session id as tie-break, so pages are stable.
   *
   * The total and the page come from one query while a listing is small (up to LIST_WINDOW
   * matches): FerretDB on SQLite scans the collection for any filter but `_id`, so a separate
   * count would double the cost of every list. Larger listings, and pages beyond the window,
   * count separately, which keeps the work per request bounded on MongoDB.
   */
  async list(
    filter: {
      client_id?: string;
      persona_id?: string;
      status?: string[];
      from?: string;
      to?: string;
    },
    page: number,
    limit: number,
    actor: Actor,
  ): Promise<{ items: SessionListItem[]; total: number }> {
    const query: Record<string, unknown> = { ...visibleTo(actor) };
    if (filter.client_id) query.client_id = filter.client_id;
    if (filter.persona_id) query.persona_id = filter.persona_id;
    if (filter.status?.length) query.status = { $in: filter.status };
    if (filter.from || filter.to) {
      query.created_at = {
        ...(filter.from ? { $gte: filter.from } : {}),
        ...(filter.to ? { $lte: filter.to } : {}),
      };
    }
    const skip = (page - 1) * limit;
    const find = () =>
      this.sessions
        .find<SessionListItem>(query, LIST_ITEM)
        .sort({ created_at: -1, session_id: -1 });
    if (skip + limit <= LIST_WINDOW) {
      const window = await find()
        .limit(LIST_WINDOW + 1)
        .toArray();
      const items = window.slice(skip, skip + limit);
      if (window.length <= LIST_WINDOW) return { items, total: window.length };
      return { items, total: await this.sessions.countDocuments(query) };
    }
    const [items, total] = await Promise.all([
      find().skip(skip).limit(limit).toArray(),
      this.sessions.countDocuments(query),
    ]);
    return { items, total };
  }

  /**
   * One `_id` read for most sessions: the document carries its transcript's beginning and its
   * notes (lib/store/session-view.ts). Long transcripts, many notes and sessions from before the
   * view are completed from the collections.
   */
  async get(sessionId: string, actor: Actor): Promise<SessionDetails> {
    const found = this.cache
      ? await this.cache.detailsOf(sessionId, () => this.readDetails(sessionId))
      : await this.readDetails(sessionId);
    if (!found || !mayView(actor, found.owner_id)) {
      throw new NotFoundError(`Session ${sessionId} not found`);
    }
    const { owner_id: _owner, ...details } = found;
    return details;
  }

  /** The details of any session, with its owner (for the caller to check), from the store. */
  private async readDetails(sessionId: string): Promise<OwnedDetails | null> {
    const doc = await this.sessions.findOne<Session & SessionViewFields & { owner_id?: string }>(
      { _id: sessionId },
      // INTERNAL less owner_id, which the caller checks.
      { projection: { _id: 0, updated_at: 0, analysis: 0 } },
    );
    if (!doc) return null;
    const {
      view_messages,
      view_messages_overflow,
      view_notes,
      view_notes_overflow,
      transcript_paged,
      ...session
    } = doc;
    const view = fromView(this.fields, sessionId, {
      view_messages,
      view_messages_overflow,
      view_notes,
      view_notes_overflow,
    });
    const paged = { view_messages, view_messages_overflow, transcript_paged };
    const [messages, notes] = await Promise.all([
      view.messages ?? readWholeTranscript(this.db, this.fields, sessionId, paged),
      view.notes ??
        this.db
          .collection<NoteDoc>(COLLECTIONS.notes)
          .find({ session_id: sessionId }, { projection: { _id: 0, session_id: 0 } })
          .sort({ timestamp: 1, id: 1 })
          .toArray()
          .then((ns) => ns.map((n) => this.fields.openNote(n))),
    ]);
    return {
      ...this.fields.openAssessment(sessionId, session),
      messages,
      facilitator_notes: notes,
    };
  }

  /**
   * Whether the actor may act on the session (its owner never changes, so the answer is cached
   * until the session is erased); a session they may not see is not found, as if absent.
   */
  private async assertVisible(sessionId: string, actor: Actor): Promise<void> {
    const load = async () => {
      const doc = await this.sessions.findOne(
        { _id: sessionId },
        { projection: { _id: 0, owner_id: 1, client_id: 1 } },
      );
      return (
        doc && { client_id: doc.client_id, ...(doc.owner_id ? { owner_id: doc.owner_id } : {}) }
      );
    };
    const owner = this.cache ? await this.cache.ownerOf(sessionId, load) : await load();
    if (!owner || !mayView(actor, owner.owner_id)) {
      throw new NotFoundError(`Session ${sessionId} not found`);
    }
  }

  /** After this instance changed a session: its next read here must see the change. */
  private changed(sessionId: string): void {
    this.cache?.forget(sessionId);
  }

  async start(sessionId: string, actor: Actor): Promise<Session> {
    await this.assertVisible(sessionId, actor);
    return this.callChanging(
      sessionId,
      () => this.handle(sessionId).executeUpdate(startSessionUpdate),
      'start',
    );
  }

  async end(sessionId: string, actor: Actor): Promise<Session> {
    await this.assertVisible(sessionId, actor);
    return this.callChanging(
      sessionId,
      () => this.handle(sessionId).executeUpdate(endSessionUpdate),
      'end',
    );
  }

  async cancel(sessionId: string, actor: Actor): Promise<Session> {
    await this.assertVisible(sessionId, actor);
    return this.callChanging(
      sessionId,
      () => this.handle(sessionId).executeUpdate(cancelSessionUpdate),
      'cancel',
    );
  }

  /**
   * `requestKey` (the caller's Idempotency-Key, scoped) makes the message id the same on a retry,
   * and the workflow answers a known id with the stored message: a message sent again after a
   * lost answer or a 503 is stored once. The id depends on what is said as well, so a key used
   * again for another message (after its 24 h, say) never stands for the first one.
   */
  async sendMessage(
    sessionId: string,
    req: SendMessageRequest,
    actor: Actor,
    requestKey?: string,
  ): Promise<Message> {
    await this.assertVisible(sessionId, actor);
    const messageId = requestKey
      ? idFrom('message', `${requestKey}\n${req.sender_type}\n${req.content}`)
      : newId('message');
    return this.callChanging(
      sessionId,
      () =>
        this.handle(sessionId).executeUpdate(sendMessageUpdate, {
          args: [
            {
              message_id: messageId,
              content: req.content,
              sender_type: req.sender_type,
              // The workflow fills in the session's client or persona; a facilitator speaks as themself.
              ...(req.sender_type === 'facilitator' ? { sender_id: actor.name } : {}),
              ...(req.metadata ? { metadata: req.metadata } : {}),
            },
          ],
          // The update id makes a retried delivery of this exact request a no-op in Temporal.
          updateId: messageId,
        }),
      'send',
    );
  }

  /** `requestKey` as for sendMessage: the note is stored once, by id, however often it is sent. */
  async addNote(
    sessionId: string,
    req: AddNoteRequest,
    actor: Actor,
    requestKey?: string,
  ): Promise<Note> {
    await this.assertVisible(sessionId, actor);
    const noteId = requestKey ? idFrom('note', `${requestKey}\n${req.content}`) : newId('note');
    return this.callChanging(
      sessionId,
      () =>
        this.handle(sessionId).executeUpdate(addNoteUpdate, {
          args: [{ note_id: noteId, content: req.content, author: actor.name }],
          updateId: noteId,
        }),
      'note',
    );
  }

  async messagesOf(
    sessionId: string,
    opts: { since?: string; page?: number; limit: number },
  ): Promise<{ items: Message[]; total: number }> {
    const skip = ((opts.page ?? 1) - 1) * opts.limit;
    const all = await readPagedById(this.db, this.fields, sessionId);
    if (all) {
      // Pages hold the transcript in order, and a message's time is taken when its write runs,
      // in that order: `since` keeps a tail of it.
      const since = opts.since;
      const kept = since === undefined ? all : all.filter((m) => m.timestamp > since);
      return { items: kept.slice(skip, skip + opts.limit), total: kept.length };
    }
    // A session from before the pages: the collection, which FerretDB scans whole.
    const filter = {
      session_id: sessionId,
      ...(opts.since ? { timestamp: { $gt: opts.since } } : {}),
    };
    const col = this.db.collection<MessageDoc>(COLLECTIONS.messages);
    const [items, total] = await Promise.all([
      col
        .find(filter, { projection: { _id: 0, seq: 0 } })
        .sort({ seq: 1 })
        .skip(skip)
        .limit(opts.limit)
        .toArray(),
      col.countDocuments(filter),
    ]);
    return { items: items.map((m) => this.fields.openMessage(m)), total };
  }

  /** The session if the actor may see it; otherwise not found, whether or not it exists. */
  async findSession(sessionId: string, actor: Actor): Promise<Session> {
    const session = await findVisible(this.sessions, sessionId, actor, HIDDEN.projection);
    if (!session) throw new NotFoundError(`Session ${sessionId} not found`);
    return this.fields.openAssessment(sessionId, session);
  }

  private handle(sessionId: string) {
    return this.temporal.workflow.getHandle(workflowIdFor(sessionId));
  }

  /**
   * A command that changes the session, answered within temporal.command_timeout_seconds (a
   * session worker busy or away would otherwise hold the caller without end); afterwards this
   * instance reads the session afresh.
   */
  private async callChanging<T>(
    sessionId: string,
    fn: () => Promise<T>,
    action?: SessionAction,
  ): Promise<T> {
    const deadline = Date.now() + this.config.temporal.command_timeout_seconds * 1000;
    try {
      return await this.call(
        sessionId,
        () => this.temporal.connection.withDeadline(deadline, fn),
        action,
      );
    } finally {
      this.changed(sessionId);
    }
  }

  /** Maps Temporal's answers to the API's errors. */
  private async call<T>(
    sessionId: string,
    fn: () => Promise<T>,
    action?: SessionAction,
  ): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
        if (err.cause.type === FAILURE.invalidTransition)
          throw new ConflictError(err.cause.message, { session_id: sessionId });
      }
      if (err instanceof WorkflowNotFoundError) {
        // The workflow is gone once a session is over; the read model says which it was.
        // (Callers checked visibility before the command.)
        const session = await this.sessions.findOne({ _id: sessionId }, HIDDEN);
        if (!session) throw new NotFoundError(`Session ${sessionId} not found`);
        // In the words the workflow uses while it runs, so a caller sees one answer either way.
        const why = (action && whyNot(action, session.status)) ?? `Session is ${session.status}`;
        throw new ConflictError(why, {
          session_id: sessionId,
          status: session.status,
        });
      }
      if (isGrpcServiceError(err) || (err instanceof Error && err.name === 'ServiceError')) {
        throw new ServiceUnavailableError(
          'The session runtime is unavailable; retry shortly',
          undefined,
          { cause: err },
        );
      }
      // Temporal did not answer within the call's deadline (a busy or absent worker), or the
      // server is closing: the request can be retried, it did not fail on its merits.
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        // The command may still be carried out; with the same Idempotency-Key, a retry of a
        // message or note is carried out once.
        throw new ServiceUnavailableError(
          'The session runtime did not answer in time; retry shortly (with the same Idempotency-Key)',
          undefined,
          { cause: err },
        );
      }
      throw err;
    }
  }
}
