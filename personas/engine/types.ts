/**
 * The contract between the session runtime and whatever writes the persona's words: the local
 * deterministic engine by default, LLM providers (personas/engine/llm.ts) by configuration. The runtime passes everything the engine
 * needs (the workflow keeps only the last few turns), so engines hold no per-session state.
 */
import type { Persona } from '../schema';
import type { RiskCategory, RiskLevel } from '../../lib/schemas/safety';
import type { ProgressInput } from './progress';
import type { ProgressReportResponse as ProgressReport } from '../../lib/schemas/analysis';

export type SenderType = 'client' | 'persona' | 'facilitator';

export interface Turn {
  sender_type: SenderType;
  content: string;
  /** The stored message's id, when the turn comes from the transcript; analysis cites it. */
  id?: string;
}

/** Where a finding comes from: a client message and the words in it that show it. */
export interface Evidence {
  message_id: string;
  excerpt: string;
}

/** opening: the session just started; response: answer the client; wrap_up: time is nearly up. */
export type ReplyKind = 'opening' | 'response' | 'wrap_up';

export interface ReplyContext {
  session_id: string;
  persona: Persona;
  goals: string[];
  kind: ReplyKind;
  /** How many persona messages the session already has; with session_id it seeds any variation. */
  persona_turn: number;
  /** The last few turns, oldest first. */
  recent_turns: Turn[];
  /** The runtime's wrap-up cue has been given: steer towards closing. */
  wrap_up: boolean;
  /** Minutes left before the session ends by itself, when it has a duration. */
  minutes_left?: number;
  /**
   * The risk screen's verdict on the messages being answered, when one carried a risk below the
   * crisis level (at crisis level the runtime answers itself and no engine is asked).
   */
  risk?: { level: RiskLevel; categories: RiskCategory[] };
}

export interface PersonaReply {
  content: string;
  /** Engine-specific detail kept with the message (e.g. the therapeutic move chosen). */
  metadata?: Record<string, unknown>;
  /** Set when the configured provider failed and the local engine answered instead. */
  fallback?: ReplyFallback;
}

export interface ReplyFallback {
  provider: string;
  model: string;
  /** A short code (`http_500`, `timeout`, …); never the provider's own words. */
  reason: string;
}

export interface ReplyOptions {
  /**
   * Each piece of the reply as an LLM streams it, before the reply is complete. Engines that
   * write the whole reply at once (the local one) never call it.
   */
  onDelta?(text: string): void;
  /** Aborted when the reply is no longer wanted (the activity was cancelled). */
  signal?: AbortSignal;
}

export interface Insight {
  type: 'pattern' | 'progress' | 'concern' | 'strength' | 'risk';
  text: string;
  confidence: number;
  /** The client messages the insight was read from. */
  evidence?: Evidence[];
}

export interface AnalysisInput {
  session_id: string;
  persona: Persona;
  goals: string[];
  /** The whole transcript in order. */
  transcript: Turn[];
}

export interface SessionAnalysis {
  summary: string;
  key_points: string[];
  insights: Insight[];
  mood_analysis: { primary: string; secondary: string; confidence: number };
  recommended_focus_areas: string[];
  /** For each key point, in order, the client messages it was read from (the spec's key points are plain strings). */
  key_point_evidence?: { key_point: string; evidence: Evidence[] }[];
  /** The client messages that express the primary mood. */
  mood_evidence?: Evidence[];
}

export interface PersonaEngine {
  readonly name: string;
  reply(ctx: ReplyContext, opts?: ReplyOptions): Promise<PersonaReply>;
  analyze(input: AnalysisInput): Promise<SessionAnalysis>;
  /** A client's progress over a period; without it the local engine's deterministic report is used. */
  progress?(input: ProgressInput): Promise<ProgressReport>;
}
