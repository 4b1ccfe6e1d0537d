import { analyzeProgress, compare, type ProgressInput } from '../personas/engine/progress';
import { detectCoping } from '../personas/engine/lexicon';
import { progressReportResponseSchema } from '../lib/schemas/analysis';

const period = { start: '2025-04-01', end: '2025-05-11' };

/** Three sessions in which anxious messages go from 4 of 5 to 2 of 4 and coping use triples. */
const jane: ProgressInput = {
  client_id: 'c_jane',
  client_name: 'Jane',
  period,
  focus_areas: [],
  sessions: [
    {
      session_id: 's_first',
      started_at: '2025-04-01T10:00:00.000Z',
      client_messages: [
        'I am anxious about work, so I tried breathing.',
        'My boss keeps adding deadlines and I panic in meetings.',
        'I feel worried all the time.',
        'Even at parties I get nervous, I wrote it down in my journal.',
        'The weekend itself was fine.',
      ],
    },
    {
      session_id: 's_second',
      started_at: '2025-04-15T10:00:00.000Z',
      client_messages: [
        'Still stressed about the project at work.',
        'I did some deep breaths before the meeting.',
        'Friends invited me out and I felt anxious in the group.',
      ],
    },
    {
      session_id: 's_third',
      started_at: '2025-05-06T10:00:00.000Z',
      client_messages: [
        'I did breathing exercises and journaling every morning.',
        'I reframed my thoughts and asked for help when I was nervous.',
        'I went to the gym and practised muscle relaxation.',
        'Work has been fine, but I still feel worried at parties.',
      ],
    },
  ],
};

describe('the local progress engine', () => {
  it('reports falling anxiety and rising coping across sessions in the spec shape', () => {
    const report = analyzeProgress(jane);
    expect(progressReportResponseSchema.parse(report)).toEqual(report);
    expect(report).toMatchObject({
      client_id: 'c_jane',
      report_period: { start: '2025-04-01', end: '2025-05-11' },
      sessions_analyzed: 3,
    });
    expect(report.metrics.anxiety_level).toEqual({
      trend: 'decreasing',
      start_value: 8,
      current_value: 5,
      change_percentage: -37.5,
    });
    expect(report.metrics.coping_strategy_usage).toEqual({
      trend: 'increasing',
      start_value: 2,
      current_value: 6,
      change_percentage: 200,
    });
    expect(Object.keys(report.metrics)).toEqual([
      'anxiety_level',
      'coping_strategy_usage',
      'low_mood',
      'positive_mood',
      'engagement',
    ]);
    expect(report.progress_summary).toContain(
      "Across 3 sessions from 2025-04-01 to 2025-05-11, Jane's anxiety level fell from 8 to 5 (-37.5%)",
    );
    expect(report.progress_summary).toContain('coping strategy usage rose from 2 to 6 (+200%)');
    expect(report.recommendations).toContain(
      'Continue the anxiety management techniques that are helping',
    );
    expect(report.recommendations).toContain(
      'Keep reinforcing the coping strategies the client is using (breathing exercises and journaling)',
    );
  });

  it('finds where difficulties eased and where they persist, with confidences', () => {
    const { patterns, recommendations } = analyzeProgress(jane);
    expect(patterns).toContainEqual({
      description:
        'Client reports fewer difficulties with work than earlier in the period, but continues to struggle with social situations.',
      confidence: 0.65,
    });
    expect(patterns).toContainEqual({
      description: 'Client described feeling anxious in 3 of 3 sessions.',
      confidence: 0.9,
    });
    for (const p of patterns) {
      expect(p.confidence).toBeGreaterThan(0);
      expect(p.confidence).toBeLessThanOrEqual(1);
    }
    // Strongest first.
    const confidences = patterns.map((p) => p.confidence);
    expect(confidences).toEqual([...confidences].sort((a, b) => b - a));
    expect(recommendations).toContain('Focus a session on the difficulties with social situations');
  });

  it('gives the same report for the same sessions, whatever order they arrive in', () => {
    const reversed = { ...jane, sessions: [...jane.sessions].reverse() };
    expect(analyzeProgress(reversed)).toEqual(analyzeProgress(jane));
    expect(analyzeProgress(jane)).toEqual(analyzeProgress(structuredClone(jane)));
  });

  it('reports only the focus areas asked for, in their order, and names the ones it cannot measure', () => {
    const report = analyzeProgress({
      ...jane,
      focus_areas: ['Coping strategies', 'anxiety', 'sleep quality', 'anxiety'],
    });
    expect(Object.keys(report.metrics)).toEqual(['coping_strategy_usage', 'anxiety_level']);
    expect(report.recommendations[0]).toMatch(/^Keep reinforcing the coping strategies/);
    expect(report.recommendations[1]).toBe(
      'Continue the anxiety management techniques that are helping',
    );
    expect(report.progress_summary).toContain(
      'Not measurable from session transcripts: sleep quality.',
    );

    // Only unmeasurable areas: the report still covers everything it can measure.
    const unknownOnly = analyzeProgress({ ...jane, focus_areas: ['sleep quality'] });
    expect(Object.keys(unknownOnly.metrics)).toHaveLength(5);
    expect(unknownOnly.progress_summary).toContain('Not measurable from session transcripts');
  });

  it('has nothing to analyse when no session was held in the period', () => {
    const report = analyzeProgress({ ...jane, sessions: [] });
    expect(report).toEqual({
      client_id: 'c_jane',
      report_period: period,
      sessions_analyzed: 0,
      progress_summary:
        'No sessions were held from 2025-04-01 to 2025-05-11, so there is nothing to analyse yet.',
      metrics: {},
      patterns: [],
      recommendations: [],
    });
  });

  it('shows no trend from a single session', () => {
    const report = analyzeProgress({ ...jane, sessions: [jane.sessions[2]!] });
    expect(report.sessions_analyzed).toBe(1);
    expect(report.metrics.anxiety_level).toEqual({
      trend: 'stable',
      start_value: 5,
      current_value: 5,
      change_percentage: 0,
    });
    expect(report.progress_summary).toMatch(/^Only one session was held .*no trend yet/);
  });

  it('calls a change within ±10% stable and never divides by zero', () => {
    expect(compare(10, 11)).toEqual({
      trend: 'stable',
      start_value: 10,
      current_value: 11,
      change_percentage: 10,
    });
    expect(compare(10, 8.9)).toMatchObject({ trend: 'decreasing', change_percentage: -11 });
    expect(compare(3, 4)).toMatchObject({ trend: 'increasing', change_percentage: 33.3 });
    expect(compare(0, 0)).toEqual({
      trend: 'stable',
      start_value: 0,
      current_value: 0,
      change_percentage: 0,
    });
    expect(compare(0, 2)).toEqual({
      trend: 'increasing',
      start_value: 0,
      current_value: 2,
      change_percentage: null,
    });
  });

  it('puts a risk of self-harm first, in the patterns and in the recommendations', () => {
    const report = analyzeProgress({
      ...jane,
      sessions: [
        ...jane.sessions,
        {
          session_id: 's_fourth',
          started_at: '2025-05-10T10:00:00.000Z',
          client_messages: ['Some days I think everyone would be better off dead without me.'],
        },
      ],
    });
    expect(report.patterns[0]).toEqual({
      description:
        'Client language in 1 of 4 sessions suggested a risk of self-harm; this needs professional review.',
      confidence: 0.9,
    });
    expect(report.recommendations[0]).toBe('Safety planning with a qualified professional');
  });

  it('measures a session in which the client wrote nothing without inventing feelings', () => {
    const report = analyzeProgress({
      ...jane,
      sessions: [
        { session_id: 's_quiet', started_at: '2025-04-02T09:00:00Z', client_messages: [] },
      ],
    });
    expect(report.sessions_analyzed).toBe(1);
    expect(Object.keys(report.metrics)).toEqual(['coping_strategy_usage', 'engagement']);
    expect(report.metrics.engagement).toMatchObject({ current_value: 0, trend: 'stable' });
  });
});

describe('the coping lexicon', () => {
  it('counts techniques the client used, not ones they did not', () => {
    expect(detectCoping('I did my breathing exercises and some yoga')).toEqual([
      'breathing',
      'physical',
    ]);
    expect(detectCoping("I didn't try breathing this week")).toEqual([]);
    expect(detectCoping('I used the technique you showed me')).toEqual(['general']);
    expect(detectCoping('We had a meeting about the project plan')).toEqual([]);
  });
});
