/**
 * Activities of the persona pool (task queue `personas`): the persona's replies and the
 * end-of-session analysis. They run apart from the session pool so the slow, CPU- or
 * network-bound work (an LLM, the local engine) scales on its own.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Store } from '../lib/mongo';
import { COLLECTIONS } from '../lib/store/collections';
import type { Insight, Session } from '../lib/schemas/session';
import type { Persona } from '../personas/schema';
import type { PersonaEngine, PersonaReply, ReplyKind, Turn } from '../personas/engine/types';
import type { StoredMessage, SessionRef } from './session-store';

export interface PersonaLookup {
  get(personaId: string): Persona | undefined;
}

export interface PersonaActivityDeps {
  store: Store;
  personas: PersonaLookup;
  engine: PersonaEngine;
}

export interface ReplyRequest {
  session_id: string;
  persona_id: string;
  persona_version?: number;
  goals: string[];
  kind: ReplyKind;
  persona_turn: number;
  recent_turns: Turn[];
  wrap_up: boolean;
  minutes_left?: number;
}

export interface AnalysisResult {
  summary: string;
  insights: Insight[];
}

export function createPersonaActivities({ store, personas, engine }: PersonaActivityDeps) {
  const persona = (id: string): Persona => {
    const found = personas.get(id);
    if (!found) {
      throw ApplicationFailure.create({
        type: 'UnknownPersona',
        message: `persona ${id} is not defined`,
        nonRetryable: true,
      });
    }
    return found;
  };

  return {
    async generateReply(req: ReplyRequest): Promise<PersonaReply> {
      const started = performance.now();
      const reply = await engine.reply({
        session_id: req.session_id,
        persona: persona(req.persona_id),
        goals: req.goals,
        kind: req.kind,
        persona_turn: req.persona_turn,
        recent_turns: req.recent_turns,
        wrap_up: req.wrap_up,
        ...(req.minutes_left !== undefined ? { minutes_left: req.minutes_left } : {}),
      });
      Context.current().log.debug('persona reply', {
        engine: engine.name,
        ms: Math.round(performance.now() - started),
      });
      return { content: reply.content, metadata: { ...reply.metadata, engine: engine.name } };
    },

    /** Reads the whole transcript, analyses it and stores the summary and insights on the session. */
    async analyzeSession(req: SessionRef & { goals: string[] }): Promise<AnalysisResult> {
      const transcript = await store.db
        .collection<StoredMessage>(COLLECTIONS.messages)
        .find(
          { session_id: req.session_id },
          { projection: { _id: 0, sender_type: 1, content: 1, seq: 1 } },
        )
        .sort({ seq: 1 })
        .toArray();
      const analysis = await engine.analyze({
        session_id: req.session_id,
        persona: persona(req.persona_id),
        goals: req.goals,
        transcript: transcript.map((m) => ({ sender_type: m.sender_type, content: m.content })),
      });
      await store.db.collection<Session>(COLLECTIONS.sessions).updateOne(
        { session_id: req.session_id },
        {
          $set: {
            summary: analysis.summary,
            insights: analysis.insights,
            analysis: {
              key_points: analysis.key_points,
              mood_analysis: analysis.mood_analysis,
              recommended_focus_areas: analysis.recommended_focus_areas,
            },
          },
        },
      );
      return { summary: analysis.summary, insights: analysis.insights };
    },
  };
}

export type PersonaActivities = ReturnType<typeof createPersonaActivities>;
