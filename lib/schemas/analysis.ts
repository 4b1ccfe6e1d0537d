/**
 * On-demand analysis payloads: a session's summary (`POST /sessions/{id}/analyze/summary`) and
 * a client's progress over a period (`POST /clients/{id}/analyze/progress`), in the spec's shapes.
 */
import { z } from 'zod';

// ---- session summary ----

export const moodAnalysisSchema = z.object({
  primary: z.string().describe('The feeling the client expressed most, or `neutral`.'),
  secondary: z.string().describe('The next most expressed feeling, or `neutral`.'),
  confidence: z.number().min(0).max(1),
});
export type MoodAnalysis = z.infer<typeof moodAnalysisSchema>;

export const evidenceSchema = z
  .object({
    message_id: z.string().describe('The client message a finding was read from.'),
    excerpt: z.string().describe('The words in that message that show it.'),
  })
  .describe('Where a finding comes from in the transcript.');
export type Evidence = z.infer<typeof evidenceSchema>;

export const sessionSummaryResponseSchema = z
  .object({
    session_id: z.string(),
    summary: z.string(),
    key_points: z.array(z.string()),
    mood_analysis: moodAnalysisSchema,
    recommended_focus_areas: z.array(z.string()),
    key_point_evidence: z
      .array(z.object({ key_point: z.string(), evidence: z.array(evidenceSchema) }))
      .optional()
      .describe('For each key point, in order, the client messages it was read from.'),
    mood_evidence: z
      .array(evidenceSchema)
      .optional()
      .describe('The client messages that express the primary mood.'),
  })
  .meta({
    example: {
      session_id: 's_k3j9x2m4p7q1r8s5',
      summary:
        'In this session with Dr. Morgan Hayes, the client sent 6 messages. They mostly ' +
        'described feeling anxious and stressed. Topics raised: at work and around other people.',
      key_points: [
        'Client expressed feeling anxious in 3 messages',
        'Client talked about things at work',
      ],
      mood_analysis: { primary: 'anxious', secondary: 'stressed', confidence: 0.85 },
      recommended_focus_areas: ['Anxiety management techniques', 'Stress management techniques'],
    },
  });
export type SessionSummaryResponse = z.infer<typeof sessionSummaryResponseSchema>;

// ---- progress report ----

const day = z.iso
  .date({ error: 'must be a date (YYYY-MM-DD)' })
  .describe('A calendar day, YYYY-MM-DD, read in UTC.');

export const PROGRESS_DEFAULT_DAYS = 90;

export const progressReportRequestSchema = z
  .object({
    start_date: day
      .optional()
      .describe(`First day of the period; default ${PROGRESS_DEFAULT_DAYS} days before end_date.`),
    end_date: day.optional().describe('Last day of the period (inclusive); default today (UTC).'),
    focus_areas: z
      .array(z.string().trim().min(1).max(100))
      .max(20)
      .default([])
      .describe(
        'Areas to report on, in the order wanted (e.g. `anxiety`, `coping_strategies`, `mood`); ' +
          'empty, every measured area. Areas the sessions cannot measure are named in the summary.',
      ),
  })
  .refine((r) => !r.start_date || !r.end_date || r.end_date >= r.start_date, {
    message: 'must not be before start_date',
    path: ['end_date'],
  })
  .meta({
    example: {
      start_date: '2025-04-01',
      end_date: '2025-05-11',
      focus_areas: ['anxiety', 'coping_strategies'],
    },
  });
export type ProgressReportRequest = z.infer<typeof progressReportRequestSchema>;

export const metricTrendSchema = z.enum(['increasing', 'decreasing', 'stable']);
export type MetricTrend = z.infer<typeof metricTrendSchema>;

export const progressMetricSchema = z.object({
  trend: metricTrendSchema.describe('First session against the latest; within ±10% is stable.'),
  start_value: z.number().describe('The measure in the first session of the period.'),
  current_value: z.number().describe('The measure in the latest session of the period.'),
  change_percentage: z
    .number()
    .nullable()
    .describe('Change relative to start_value, one decimal; null when start_value is 0.'),
});
export type ProgressMetric = z.infer<typeof progressMetricSchema>;

export const progressPatternSchema = z.object({
  description: z.string(),
  confidence: z.number().min(0).max(1),
});
export type ProgressPattern = z.infer<typeof progressPatternSchema>;

export const progressReportResponseSchema = z
  .object({
    client_id: z.string(),
    report_period: z.object({ start: day, end: day }),
    sessions_analyzed: z.number().int().min(0),
    progress_summary: z.string(),
    metrics: z
      .record(z.string(), progressMetricSchema)
      .describe(
        'By name: anxiety_level (0-10), coping_strategy_usage (mentions per session), ' +
          'low_mood (0-10), positive_mood (0-10), engagement (client messages per session).',
      ),
    patterns: z.array(progressPatternSchema),
    recommendations: z.array(z.string()),
  })
  .meta({
    example: {
      client_id: 'c_k3j9x2m4p7q1r8s5',
      report_period: { start: '2025-04-01', end: '2025-05-11' },
      sessions_analyzed: 5,
      progress_summary:
        "Across 5 sessions from 2025-04-01 to 2025-05-11, Jane's anxiety level fell from 8 to " +
        '5 (-37.5%) and coping strategy usage rose from 2 to 6 (+200%).',
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
      patterns: [
        {
          description: 'Anxiety was most often expressed in connection with things at work.',
          confidence: 0.8,
        },
      ],
      recommendations: ['Continue the anxiety management techniques that are helping'],
    },
  });
export type ProgressReportResponse = z.infer<typeof progressReportResponseSchema>;
