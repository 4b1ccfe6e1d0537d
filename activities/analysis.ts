/**
 * On-demand analysis on the persona pool (task queue `personas`): a session's summary and a
 * client's progress report. They read MongoDB here, in the activity, so an LLM engine gets the
 * same retries and scaling as persona replies and the API process never runs an engine.
 * Neither writes anything: an on-demand summary of a session in progress is not its final one.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { FieldCrypto } from '../lib/crypto/fields';
import type { Store } from '../lib/mongo';
import {
  COLLECTIONS,
  type ClientDoc,
  type MessageDoc,
  type SessionDoc,
} from '../lib/store/collections';
import {
  sessionSummaryResponseSchema,
  type ProgressReportResponse,
  type SessionSummaryResponse,
} from '../lib/schemas/analysis';
import type { PersonaEngine } from '../personas/engine/types';
import { analyzeProgress, type ProgressInput } from '../personas/engine/progress';
import type { PersonaLookup } from './persona';
import { readTranscript } from './transcript';
import { readPagedById } from '../lib/store/transcript-pages';

export interface AnalysisActivityDeps {
  store: Store;
  /** Opens the encrypted transcript, client name and stored analysis. */
  fields: FieldCrypto;
  personas: PersonaLookup;
  engine: PersonaEngine;
}

export interface SummarizeSessionRequest {
  session_id: string;
}

export interface ProgressReportActivityRequest {
  client_id: string;
  /** YYYY-MM-DD, both days included, read in UTC. */
  start_date: string;
  end_date: string;
  focus_areas: string[];
}

/** More sessions than this in one period: the most recent ones are analysed. */
export const MAX_PROGRESS_SESSIONS = 1000;
/** Sessions whose transcripts the progress report reads at once. */
const PAGED_READS_AT_ONCE = 8;

const nextDay = (day: string) =>
  new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

export function createAnalysisActivities({
  store,
  fields,
  personas,
  engine,
}: AnalysisActivityDeps) {
  const sessions = () => store.db.collection<SessionDoc>(COLLECTIONS.sessions);
  const messages = () => store.db.collection<MessageDoc>(COLLECTIONS.messages);

  return {
    /**
     * A completed session answers with the analysis stored when it ended; any other session is
     * analysed from its transcript so far.
     */
    async summarizeSession(req: SummarizeSessionRequest): Promise<SessionSummaryResponse> {
      const found = await sessions().findOne(
        { _id: req.session_id },
        {
          projection: {
            _id: 0,
            status: 1,
            persona_id: 1,
            persona_version: 1,
            goals: 1,
            summary: 1,
            analysis: 1,
          },
        },
      );
      const session = found && fields.openAssessment(req.session_id, found);
      if (!session) {
        throw ApplicationFailure.create({
          type: 'SessionNotFound',
          message: `session ${req.session_id} not found`,
          nonRetryable: true,
        });
      }
      if (session.status === 'completed' && session.summary && session.analysis) {
        const stored = sessionSummaryResponseSchema.safeParse({
          session_id: req.session_id,
          summary: session.summary,
          ...session.analysis,
        });
        if (stored.success) return stored.data;
      }
      const persona = await personas.get(session.persona_id, session.persona_version);
      if (!persona) {
        throw ApplicationFailure.create({
          type: 'UnknownPersona',
          message: `persona ${session.persona_id} is not defined`,
          nonRetryable: true,
        });
      }
      const transcript = await readTranscript(store, fields, req.session_id);
      const analysis = await engine.analyze({
        session_id: req.session_id,
        persona,
        goals: session.goals ?? [],
        transcript,
      });
      return {
        session_id: req.session_id,
        summary: analysis.summary,
        key_points: analysis.key_points,
        mood_analysis: analysis.mood_analysis,
        recommended_focus_areas: analysis.recommended_focus_areas,
        ...(analysis.key_point_evidence ? { key_point_evidence: analysis.key_point_evidence } : {}),
        ...(analysis.mood_evidence ? { mood_evidence: analysis.mood_evidence } : {}),
      };
    },

    /** The client's sessions that started within the period, with what the client wrote in each. */
    async progressReport(req: ProgressReportActivityRequest): Promise<ProgressReportResponse> {
      const [clientDoc, held] = await Promise.all([
        store.db
          .collection<ClientDoc>(COLLECTIONS.clients)
          .findOne({ _id: req.client_id }, { projection: { _id: 1, first_name: 1 } }),
        sessions()
          .find(
            {
              client_id: req.client_id,
              // Timestamps are ISO strings: a day is a prefix of its own times, so these bounds
              // take in the whole of both days.
              started_at: { $gte: req.start_date, $lt: nextDay(req.end_date) },
            },
            { projection: { _id: 0, session_id: 1, started_at: 1 } },
          )
          .sort({ started_at: -1, session_id: -1 })
          .limit(MAX_PROGRESS_SESSIONS)
          .toArray(),
      ]);
      const client = clientDoc && fields.openClient(clientDoc);
      const ids = held.map((s) => s.session_id);
      const said = new Map<string, string[]>(ids.map((id) => [id, []]));
      const saidIds = new Map<string, string[]>(ids.map((id) => [id, []]));
      // From each session's pages (lookups by `_id`); sessions from before the pages are read
      // from the messages collection in one query (which FerretDB answers by a scan).
      const legacy: string[] = [];
      for (let i = 0; i < ids.length; i += PAGED_READS_AT_ONCE) {
        const batch = ids.slice(i, i + PAGED_READS_AT_ONCE);
        const transcripts = await Promise.all(
          batch.map((id) => readPagedById(store.db, fields, id)),
        );
        for (const [j, transcript] of transcripts.entries()) {
          const id = batch[j]!;
          if (!transcript) {
            legacy.push(id);
            continue;
          }
          for (const m of transcript) {
            if (m.sender_type !== 'client') continue;
            said.get(id)?.push(m.content);
            saidIds.get(id)?.push(m.id);
          }
        }
      }
      if (legacy.length) {
        const written = await messages()
          .find(
            { session_id: { $in: legacy }, sender_type: 'client' },
            { projection: { _id: 1, session_id: 1, content: 1, seq: 1 } },
          )
          .sort({ session_id: 1, seq: 1 })
          .toArray();
        for (const stored of written) {
          const m = fields.openMessage(stored);
          said.get(m.session_id)?.push(m.content);
          saidIds.get(m.session_id)?.push(m._id);
        }
      }
      const input: ProgressInput = {
        client_id: req.client_id,
        ...(client?.first_name ? { client_name: client.first_name } : {}),
        period: { start: req.start_date, end: req.end_date },
        focus_areas: req.focus_areas,
        sessions: held.map((s) => ({
          session_id: s.session_id,
          started_at: s.started_at!,
          client_messages: said.get(s.session_id) ?? [],
          // So a measure can name the messages it was read from (see traceProgress).
          client_message_ids: saidIds.get(s.session_id) ?? [],
        })),
      };
      return engine.progress ? engine.progress(input) : analyzeProgress(input);
    },
  };
}

export type AnalysisActivities = ReturnType<typeof createAnalysisActivities>;
