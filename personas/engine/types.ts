/**
 * The contract between the session runtime and whatever writes the persona's words: the local
 * deterministic engine by default, LLM providers later. The runtime passes everything the engine
 * needs (the workflow keeps only the last few turns), so engines hold no per-session state.
 */
import type { Persona } from '../schema';
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
}

export interface PersonaReply {
  content: string;
  /** Engine-specific detail kept with the message (e.g. the therapeutic move chosen). */
  metadata?: Record<string, unknown>;
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
  reply(ctx: ReplyContext): Promise<PersonaReply>;
  analyze(input: AnalysisInput): Promise<SessionAnalysis>;
  /** A client's progress over a period; without it the local engine's deterministic report is used. */
  progress?(input: ProgressInput): Promise<ProgressReport>;
}
