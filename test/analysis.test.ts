/**
 * On-demand analysis through Temporal: the service executes the analysis workflows, which run on
 * a real session worker and hand the engine work to a real persona worker. Sessions are driven
 * through the session workflow itself, as the API does, without going over HTTP.
 */
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import type { Config } from '../lib/config';
import { NotFoundError, ServiceUnavailableError, ValidationError } from '../lib/errors';
import { newId } from '../lib/ids';
import { connectStore, type Store } from '../lib/mongo';
import { connectTemporal, type TemporalHandle } from '../lib/temporal';
import {
  COLLECTIONS,
  type ClientDoc,
  type MessageDoc,
  type SessionDoc,
} from '../lib/store/collections';
import {
  progressReportRequestSchema,
  progressReportResponseSchema,
  sessionSummaryResponseSchema,
} from '../lib/schemas/analysis';
import type { SessionSpec } from '../lib/schemas/session';
import { AnalysisService, progressPeriod } from '../api/analysis/service';
import {
  endSessionUpdate,
  sendMessageUpdate,
  sessionCreatedUpdate,
  sessionWorkflow,
  startSessionUpdate,
} from '../workflows/session';
import { start as startSessionWorker } from '../workers/session-worker';
import { start as startPersonaWorker } from '../workers/persona-worker';
import type { RunningWorker } from '../workers/pool';
import { FieldCrypto } from '../lib/crypto/fields';
import { quietLogger, testConfig, unique, waitFor, workflowBundle } from './helpers/stack';

describe('on-demand analysis', () => {
  let config: Config;
  let workers: RunningWorker[] = [];
  let temporal: TemporalHandle;
  let store: Store;
  let service: AnalysisService;

  beforeAll(async () => {
    config = testConfig({
      'temporal.task_queues.sessions': unique('sessions'),
      'temporal.task_queues.personas': unique('personas'),
    });
    workers = [
      await startSessionWorker(config, quietLogger, { workflowBundle: workflowBundle() }),
      await startPersonaWorker(config, quietLogger),
    ];
    temporal = await connectTemporal(config);
    store = await connectStore(config);
    service = new AnalysisService(temporal.client, store.db, config);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await store?.db.dropDatabase();
    await Promise.allSettled([temporal?.close(), store?.close()]);
  });

  const sessions = () => store.db.collection<SessionDoc>(COLLECTIONS.sessions);
  const messages = () => store.db.collection<MessageDoc>(COLLECTIONS.messages);
  const personaMessages = (sessionId: string) =>
    messages().countDocuments({ session_id: sessionId, sender_type: 'persona' });

  /** A session as the API creates it: its workflow, answering once the document is stored. */
  async function createSession(clientId: string, goals: string[] = []) {
    const spec: SessionSpec = {
      session_id: newId('session'),
      client_id: clientId,
      persona_id: 'dr_morgan_hayes',
      goals,
      duration_minutes: 45,
      created_at: new Date().toISOString(),
      created_by: 'test',
      metadata: {},
    };
    await temporal.client.workflow.executeUpdateWithStart(sessionCreatedUpdate, {
      startWorkflowOperation: new WithStartWorkflowOperation(sessionWorkflow, {
        workflowId: `session-${spec.session_id}`,
        taskQueue: config.temporal.task_queues.sessions,
        args: [{ spec, options: { persona_task_queue: config.temporal.task_queues.personas } }],
        workflowIdConflictPolicy: 'FAIL',
      }),
    });
    const handle = temporal.client.workflow.getHandle(`session-${spec.session_id}`);
    return { id: spec.session_id, handle };
  }

  /** Starts the session and has the client say each line, waiting for the persona's answer. */
  async function converse(clientId: string, lines: string[], goals: string[] = []) {
    const session = await createSession(clientId, goals);
    await session.handle.executeUpdate(startSessionUpdate);
    await waitFor('the opening message', async () => (await personaMessages(session.id)) === 1);
    for (const [i, content] of lines.entries()) {
      await session.handle.executeUpdate(sendMessageUpdate, {
        args: [{ message_id: newId('message'), content, sender_type: 'client' }],
      });
      await waitFor(
        `the reply to message ${i + 1}`,
        async () => (await personaMessages(session.id)) === i + 2,
      );
    }
    return session;
  }

  describe('session summary', () => {
    const worried = [
      'I have been really anxious about the deadlines at work.',
      'I feel overwhelmed and stressed at the office.',
      'Talking about it helps, I feel a bit calmer now.',
    ];

    it('analyses an active session from what the client has said so far, without storing it', async () => {
      const { id } = await converse('c_active', worried, ['Reduce anxiety at work']);

      const summary = await service.summarizeSession(id, 'c_test');
      expect(sessionSummaryResponseSchema.parse(summary)).toEqual(summary);
      expect(summary.session_id).toBe(id);
      // Only the client's three messages count; the persona's reflections never do.
      expect(summary.summary).toContain('the client sent 3 messages');
      expect(summary.summary).toContain('Session goals: reduce anxiety at work.');
      expect(summary.mood_analysis).toEqual({
        primary: 'anxious',
        secondary: 'stressed',
        confidence: 0.55,
      });
      expect(summary.key_points).toContain('Client expressed feeling anxious in 1 message');
      // Each key point names the stored client messages it was read from.
      const written = await messages()
        .find({ session_id: id, sender_type: 'client' })
        .sort({ seq: 1 })
        .toArray();
      expect(summary.key_point_evidence?.[0]).toEqual({
        key_point: 'Client expressed feeling anxious in 1 message',
        evidence: [
          {
            message_id: written[0]!.id,
            excerpt: 'I have been really anxious about the deadlines at work.',
          },
        ],
      });
      expect(summary.mood_evidence).toEqual([
        {
          message_id: written[0]!.id,
          excerpt: 'I have been really anxious about the deadlines at work.',
        },
      ]);
      expect(summary.recommended_focus_areas[0]).toBe('Anxiety management techniques');

      const doc = await sessions().findOne({ _id: id });
      expect(doc).toMatchObject({ status: 'active' });
      expect(doc?.summary).toBeUndefined();
      expect(doc?.analysis).toBeUndefined();

      // It ran as a workflow of its own on the session pool's queue.
      const runs = await waitFor('the summary workflow in visibility', async () => {
        const found = [];
        for await (const wf of temporal.client.workflow.list({
          query: `WorkflowType = 'sessionSummaryWorkflow' AND TaskQueue = '${config.temporal.task_queues.sessions}'`,
        })) {
          if (wf.workflowId.startsWith(`analysis-summary-${id}-`) && wf.status.name === 'COMPLETED')
            found.push(wf);
        }
        return found.length ? found : undefined;
      });
      expect(runs).toHaveLength(1);
    });

    it('answers with the analysis stored when a completed session ended', async () => {
      const { id, handle } = await converse('c_completed', worried);
      await handle.executeUpdate(endSessionUpdate);
      const fields = FieldCrypto.fromConfig(config);
      const ended = await waitFor('the stored end-of-session analysis', async () => {
        const doc = await sessions().findOne({ _id: id });
        return doc?.status === 'completed' && doc.analysis
          ? fields.openAssessment(id, doc)
          : undefined;
      });

      // Mark the stored analysis (encrypted, like the original): the answer must come from it,
      // not from a fresh reading.
      const marked = { ...ended.analysis, key_points: ['As stored at the end of the session'] };
      await sessions().updateOne(
        { _id: id },
        {
          $set: {
            analysis: fields.sealAssessmentValue(id, 'analysis', marked) as Record<string, unknown>,
          },
        },
      );
      const summary = await service.summarizeSession(id, 'c_test');
      expect(summary).toEqual({
        session_id: id,
        summary: ended.summary,
        key_points: ['As stored at the end of the session'],
        mood_analysis: ended.analysis!.mood_analysis,
        recommended_focus_areas: ended.analysis!.recommended_focus_areas,
        key_point_evidence: ended.analysis!.key_point_evidence,
        mood_evidence: ended.analysis!.mood_evidence,
      });
    });

    it('summarises a session without messages as one where nothing was said', async () => {
      const { id } = await createSession('c_quiet');
      const summary = await service.summarizeSession(id, 'c_test');
      expect(sessionSummaryResponseSchema.parse(summary)).toEqual(summary);
      expect(summary.summary).toContain('the client sent 0 messages');
      expect(summary.mood_analysis).toEqual({
        primary: 'neutral',
        secondary: 'neutral',
        confidence: 0.3,
      });
    });

    it('reports an unknown session as not found', async () => {
      await expect(service.summarizeSession('s_doesnotexist0000', 'c_test')).rejects.toThrow(
        NotFoundError,
      );
    });
  });

  describe('progress report', () => {
    /** Sessions written straight into the read models, so they can lie in the past. */
    async function heldSession(
      clientId: string,
      startedAt: string,
      clientLines: string[],
      personaLines: string[] = [],
    ) {
      const id = newId('session');
      await sessions().insertOne({
        _id: id,
        session_id: id,
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        goals: [],
        duration_minutes: 45,
        created_at: startedAt,
        created_by: 'test',
        metadata: {},
        status: 'completed',
        started_at: startedAt,
        ended_at: startedAt,
      });
      // Persona turns interleave with the client's: they must not count as the client's feelings.
      const turns = clientLines.flatMap((content, i) => [
        { sender_type: 'client' as const, content },
        ...(personaLines[i] ? [{ sender_type: 'persona' as const, content: personaLines[i] }] : []),
      ]);
      if (turns.length) {
        await messages().insertMany(
          turns.map((t, i) => {
            const mid = newId('message');
            return {
              _id: mid,
              id: mid,
              session_id: id,
              sender_type: t.sender_type,
              sender_id: t.sender_type === 'client' ? clientId : 'dr_morgan_hayes',
              content: t.content,
              timestamp: startedAt,
              seq: i + 1,
            };
          }),
        );
      }
      return id;
    }

    it('reports anxiety falling and coping rising over the requested period only', async () => {
      const clientId = newId('client');
      const now = '2025-01-01T00:00:00.000Z';
      await store.db.collection<ClientDoc>(COLLECTIONS.clients).insertOne({
        _id: clientId,
        client_id: clientId,
        first_name: 'Jane',
        last_name: 'Doe',
        created_at: now,
        created_by: 'test',
        updated_at: now,
        metadata: {},
      });
      const reflections = [
        'It sounds like you are feeling anxious and overwhelmed.',
        'You sound stressed and worried.',
      ];
      // First day of the period, from its first moment.
      await heldSession(
        clientId,
        '2025-04-01T00:00:00Z',
        [
          'I am anxious about work, so I tried breathing.',
          'My boss keeps adding deadlines and I panic in meetings.',
          'I feel worried all the time.',
          'Even at parties I get nervous, I wrote it down in my journal.',
          'The weekend itself was fine.',
        ],
        reflections,
      );
      await heldSession(clientId, '2025-04-20T10:00:00.000Z', [
        'Still stressed about the project at work.',
        'I did some deep breaths before the meeting.',
      ]);
      // Last day of the period, up to its last moment.
      await heldSession(
        clientId,
        '2025-05-11T23:59:59.999Z',
        [
          'I did breathing exercises and journaling every morning.',
          'I reframed my thoughts and asked for help when I was nervous.',
          'I went to the gym and practised muscle relaxation.',
          'Work has been fine, but I still feel worried at parties.',
        ],
        reflections,
      );
      // Outside the period, another client's, and one never held: none of these count.
      await heldSession(clientId, '2025-03-31T23:59:59.999Z', ['I am calm and happy.']);
      await heldSession(clientId, '2025-05-12T00:00:00.000Z', ['I panic all the time.']);
      await heldSession('c_someone_else', '2025-04-10T10:00:00.000Z', ['I panic.']);
      const unheld = newId('session');
      await sessions().insertOne({
        _id: unheld,
        session_id: unheld,
        client_id: clientId,
        persona_id: 'dr_morgan_hayes',
        goals: [],
        duration_minutes: 45,
        created_at: '2025-04-05T10:00:00.000Z',
        created_by: 'test',
        metadata: {},
        status: 'scheduled',
        scheduled_at: '2025-04-05T10:00:00.000Z',
      });

      const request = progressReportRequestSchema.parse({
        start_date: '2025-04-01',
        end_date: '2025-05-11',
        focus_areas: ['anxiety', 'coping_strategies'],
      });
      const report = await service.progressReport(clientId, request);
      expect(progressReportResponseSchema.parse(report)).toEqual(report);
      expect(report).toMatchObject({
        client_id: clientId,
        report_period: { start: '2025-04-01', end: '2025-05-11' },
        sessions_analyzed: 3,
        metrics: {
          anxiety_level: {
            trend: 'decreasing',
            start_value: 8,
            current_value: 5,
            change_percentage: -37.5,
          },
          coping_strategy_usage: {
            trend: 'increasing',
            start_value: 2,
            current_value: 6,
            change_percentage: 200,
          },
        },
      });
      expect(Object.keys(report.metrics)).toEqual(['anxiety_level', 'coping_strategy_usage']);
      expect(report.progress_summary).toMatch(
        /^Across 3 sessions from 2025-04-01 to 2025-05-11, Jane's anxiety level fell from 8 to 5 \(-37\.5%\)/,
      );
      expect(report.patterns.length).toBeGreaterThan(0);
      expect(report.recommendations[0]).toBe(
        'Continue the anxiety management techniques that are helping',
      );

      // The same question gets the same answer.
      expect(await service.progressReport(clientId, request)).toEqual(report);
    });

    it('covers the last 90 days by default, including a session held today', async () => {
      const clientId = newId('client');
      await converse(clientId, ['I was nervous this morning but breathing helped.']);
      const today = new Date().toISOString().slice(0, 10);

      const report = await service.progressReport(clientId, progressReportRequestSchema.parse({}));
      expect(report.report_period).toEqual(progressPeriod({}));
      expect(report.report_period.end).toBe(today);
      expect(report.sessions_analyzed).toBe(1);
      expect(report.metrics.anxiety_level).toMatchObject({ trend: 'stable', current_value: 10 });
      expect(report.metrics.coping_strategy_usage).toMatchObject({ current_value: 1 });
    });

    it('has nothing to analyse for a client without sessions in the period', async () => {
      const report = await service.progressReport(newId('client'), {
        start_date: '2024-01-01',
        end_date: '2024-03-31',
        focus_areas: [],
      });
      expect(report).toMatchObject({
        sessions_analyzed: 0,
        metrics: {},
        patterns: [],
        recommendations: [],
      });
      expect(report.progress_summary).toContain('nothing to analyse');
    });

    it('refuses a period that ends before it starts', async () => {
      expect(
        progressReportRequestSchema.safeParse({ start_date: '2025-05-11', end_date: '2025-04-01' })
          .success,
      ).toBe(false);
      expect(progressReportRequestSchema.safeParse({ start_date: '2025-02-30' }).success).toBe(
        false,
      );
      // A start after today with the end left to default ends before it starts, too.
      await expect(
        service.progressReport('c_x', { start_date: '2999-01-01', focus_areas: [] }),
      ).rejects.toThrow(ValidationError);
      expect(progressPeriod({ end_date: '2025-05-11' })).toEqual({
        start: '2025-02-10',
        end: '2025-05-11',
      });
      expect(progressPeriod({}, new Date('2025-05-11T23:30:00Z'))).toEqual({
        start: '2025-02-10',
        end: '2025-05-11',
      });
    });
  });

  describe('when the runtime cannot answer', () => {
    it('reports the persona pool being unavailable once the analysis times out', async () => {
      // The session pool runs the workflow, but nobody polls this persona queue.
      const noPersonaPool = {
        ...config,
        temporal: {
          ...config.temporal,
          task_queues: { ...config.temporal.task_queues, personas: unique('nobody') },
        },
      };
      const impatient = new AnalysisService(temporal.client, store.db, noPersonaPool, {
        timeoutMs: 3_000,
      });
      const { id } = await createSession('c_waiting');
      await expect(impatient.summarizeSession(id, 'c_test')).rejects.toThrow(
        ServiceUnavailableError,
      );
    });

    it('reports Temporal being unreachable as unavailable', async () => {
      // No gRPC retries: the answer is the same, only sooner.
      const connection = Connection.lazy({ address: '127.0.0.1:1', interceptors: [] });
      const unreachable = new AnalysisService(
        new Client({ connection, namespace: config.temporal.namespace }),
        store.db,
        config,
      );
      await expect(unreachable.summarizeSession('s_any', 'c_test')).rejects.toThrow(
        ServiceUnavailableError,
      );
      await connection.close();
    });
  });
});
