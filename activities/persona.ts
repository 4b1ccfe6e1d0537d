/**
 * Activities of the persona pool (task queue `personas`): the persona's replies and the
 * end-of-session analysis. They run apart from the session pool so the slow, CPU- or
 * network-bound work (an LLM, the local engine) scales on its own.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Histogram } from 'prom-client';
import type { FieldCrypto } from '../lib/crypto/fields';
import type { Store } from '../lib/mongo';
import { COLLECTIONS, type MessageDoc, type SessionDoc } from '../lib/store/collections';
import type { Bus } from '../lib/bus';
import { eventId, publishDelta, publishEvent, publishTyping } from '../lib/events';
import type { Insight, Message } from '../lib/schemas/session';
import type { Persona } from '../personas/schema';
import type {
  PersonaEngine,
  PersonaReply,
  ReplyContext,
  ReplyOptions,
} from '../personas/engine/types';
import { crisisReply, type CrisisSettings } from '../personas/safety/crisis';
import type { BatchRisk } from '../workflows/session-state';
import {
  announceMessage,
  findMessage,
  readTranscript,
  storeMessageOnce,
  type SessionRef,
} from './transcript';

/** Personas by id and, for custom ones, version (the one the session started with). */
export interface PersonaLookup {
  get(personaId: string, version?: number): Persona | undefined | Promise<Persona | undefined>;
}

export interface PersonaActivityDeps {
  store: Store;
  /** Encrypts what is stored: the reply's content, the session's summary and analysis. */
  fields: FieldCrypto;
  bus: Bus;
  personas: PersonaLookup;
  engine: PersonaEngine;
  /** Crisis lines and emergency wording for the reply to a message the risk screen flagged. */
  safety: CrisisSettings;
  /** Observes how long the client waited for each reply (`smartsteps_message_turnaround_seconds`). */
  turnaround?: Histogram<'engine'>;
}

/** What the engine needs, with the persona named by id (the activity looks it up). */
export type ReplyRequest = Omit<ReplyContext, 'persona'> & {
  persona_id: string;
  persona_version?: number;
};

/** A reply to write into the transcript: its id, place and time are decided by the workflow. */
export interface RespondRequest extends ReplyRequest {
  session: SessionRef;
  message_id: string;
  seq: number;
  timestamp: string;
  in_reply_to: string[];
  /** The risk screen's verdict on the messages answered, when any carried a risk. */
  risk?: BatchRisk;
}

export interface AnalysisResult {
  summary: string;
  insights: Insight[];
}

export function createPersonaActivities({
  store,
  fields,
  bus,
  personas,
  engine,
  safety,
  turnaround,
}: PersonaActivityDeps) {
  const persona = async (id: string, version?: number): Promise<Persona> => {
    const found = await personas.get(id, version);
    if (!found) {
      throw ApplicationFailure.create({
        type: 'UnknownPersona',
        message: `persona ${id}${version !== undefined ? ` version ${version}` : ''} is not defined`,
        nonRetryable: true,
      });
    }
    return found;
  };

  const typing = (session: SessionRef, isTyping: boolean) =>
    publishTyping(bus, {
      session_id: session.session_id,
      sender_type: 'persona',
      sender_id: session.persona_id,
      is_typing: isTyping,
      timestamp: new Date().toISOString(),
    });

  const generate = async (req: ReplyRequest, opts: ReplyOptions = {}): Promise<PersonaReply> => {
    const started = performance.now();
    const { persona_id, persona_version, ...context } = req;
    const reply = await engine.reply(
      { ...context, persona: await persona(persona_id, persona_version) },
      opts,
    );
    Context.current().log.debug('persona reply', {
      session_id: req.session_id,
      engine: engine.name,
      ms: Math.round(performance.now() - started),
    });
    // An engine that routes to others (the LLM one) names the engine that actually answered.
    return { ...reply, metadata: { engine: engine.name, ...reply.metadata } };
  };

  /** At crisis level the persona steps out of role; no engine (and no LLM) writes these words. */
  const crisisTurn = async (req: ReplyRequest, risk: BatchRisk): Promise<PersonaReply> => {
    const content = crisisReply(
      {
        persona: await persona(req.persona_id, req.persona_version),
        risk,
        session_id: req.session_id,
        turn: req.persona_turn,
      },
      safety,
    );
    return { content, metadata: { move: 'safety', engine: 'safety' } };
  };

  /** Deltas go out before the message is stored, so a socket sees them before `new_message`. */
  const streamTo = (session: SessionRef, messageId: string): ReplyOptions => {
    const activity = Context.current();
    const { attempt } = activity.info;
    let index = 0;
    return {
      signal: activity.cancellationSignal,
      onDelta: (delta) =>
        publishDelta(bus, {
          session_id: session.session_id,
          message_id: messageId,
          attempt,
          index: index++,
          delta,
          timestamp: new Date().toISOString(),
        }),
    };
  };

  // Before message.created, under a deterministic id: a retried activity publishes it once.
  const announceFallback = (
    session: SessionRef,
    messageId: string,
    fallback: NonNullable<PersonaReply['fallback']>,
  ) =>
    publishEvent(bus, 'session', session.session_id, {
      event_id: eventId(session.session_id, 'persona.fallback', messageId),
      event: 'persona.fallback',
      timestamp: new Date().toISOString(),
      data: { ...session, message_id: messageId, ...fallback },
    });

  return {
    /**
     * Writes the persona's next message: typing on, generate (streaming deltas when the engine
     * streams), store once, publish, typing off.
     * Publishing from here saves the session workflow a round trip on every turn; a retry
     * after the write returns the stored message, never a second one.
     */
    async respond(req: RespondRequest): Promise<Message> {
      const { session, message_id, seq, timestamp, in_reply_to, risk, ...replyRequest } = req;
      // A retry after the write (say, the publish failed) must not pay for another LLM reply.
      if (Context.current().info.attempt > 1) {
        const written = await findMessage(store, fields, message_id);
        if (written) {
          await announceMessage(bus, session, written);
          return written;
        }
      }
      typing(session, true);
      try {
        const flagged = risk && { level: risk.level, categories: risk.categories };
        const reply = risk?.crisis
          ? await crisisTurn(replyRequest, risk)
          : await generate(
              { ...replyRequest, ...(flagged ? { risk: flagged } : {}) },
              streamTo(session, message_id),
            );
        if (reply.fallback) await announceFallback(session, message_id, reply.fallback);
        const stored = await storeMessageOnce(store, fields, {
          id: message_id,
          session_id: session.session_id,
          sender_type: 'persona',
          sender_id: session.persona_id,
          content: reply.content,
          timestamp,
          metadata: {
            ...reply.metadata,
            kind: req.kind,
            ...(in_reply_to.length ? { in_reply_to } : {}),
            ...(risk
              ? {
                  risk: {
                    level: risk.level,
                    categories: risk.categories,
                    message_id: risk.message_id,
                    ...(risk.alert_id ? { alert_id: risk.alert_id } : {}),
                  },
                }
              : {}),
          },
          seq,
        });
        await announceMessage(bus, session, stored);
        if (turnaround) observeTurnaround(store, turnaround, in_reply_to, reply.metadata?.engine);
        return stored;
      } finally {
        typing(session, false);
      }
    },

    /** Reads the whole transcript, analyses it and stores the summary and insights on the session. */
    async analyzeSession(
      req: SessionRef & { goals: string[]; persona_version?: number },
    ): Promise<AnalysisResult> {
      const transcript = await readTranscript(store, fields, req.session_id);
      const analysis = await engine.analyze({
        session_id: req.session_id,
        persona: await persona(req.persona_id, req.persona_version),
        goals: req.goals,
        transcript,
      });
      await store.db.collection<SessionDoc>(COLLECTIONS.sessions).updateOne(
        { _id: req.session_id },
        {
          $set: fields.sealAssessment(req.session_id, {
            summary: analysis.summary,
            insights: analysis.insights,
            analysis: {
              key_points: analysis.key_points,
              mood_analysis: analysis.mood_analysis,
              recommended_focus_areas: analysis.recommended_focus_areas,
              // Where each finding came from, kept beside the spec's fields.
              ...(analysis.key_point_evidence
                ? { key_point_evidence: analysis.key_point_evidence }
                : {}),
              ...(analysis.mood_evidence ? { mood_evidence: analysis.mood_evidence } : {}),
            },
          }),
        },
      );
      return { summary: analysis.summary, insights: analysis.insights };
    },
  };
}

export type PersonaActivities = ReturnType<typeof createPersonaActivities>;

/**
 * Client message accepted (its stored time, the workflow's clock) → reply stored and announced.
 * The answered messages' times are read after the reply is out, so nobody waits for the metric;
 * a batch of messages answered at once counts from the earliest.
 */
function observeTurnaround(
  store: Store,
  histogram: Histogram<'engine'>,
  repliedTo: string[],
  engine: unknown,
): void {
  const earliest = repliedTo[0];
  if (earliest === undefined) return;
  const storedAt = Date.now();
  // The batch is in the order it was sent, so its first message is the earliest. One lookup by
  // _id alone: FerretDB uses the key only for that exact form, and `{ _id: { $in } }` read the
  // whole messages collection on every reply (latency grew with the stored transcript).
  void store.db
    .collection<MessageDoc>(COLLECTIONS.messages)
    .findOne({ _id: earliest }, { projection: { timestamp: 1 } })
    .then((answered) => {
      const first = answered ? Date.parse(answered.timestamp) : NaN;
      if (!Number.isFinite(first)) return;
      histogram.observe(
        { engine: typeof engine === 'string' ? engine : 'unknown' },
        Math.max(0, storedAt - first) / 1000,
      );
    })
    // A metric is not worth failing or logging a turn over; the store may be closing.
    .catch(() => undefined);
}
