/**
 * A client's progress over a period for the local engine: each session's client messages are
 * read with the lexicon into a few measures, and the first session is compared with the latest.
 * A pure function of its input (no clock, no randomness), so a retried activity or a repeated
 * request gives the same report.
 */
import type {
  MetricTrend,
  ProgressMetric,
  ProgressPattern,
  ProgressReportResponse,
} from '../../lib/schemas/analysis';
import {
  copingPhrase,
  detectCoping,
  detectEmotions,
  detectTopics,
  currentRating,
  extractSelfRatings,
  joinList,
  mentionsRisk,
  POSITIVE,
  type CopingStrategy,
  type Emotion,
  type RatingSubject,
  type SelfRating,
  type Topic,
} from './lexicon';

export interface ProgressSession {
  session_id: string;
  started_at: string;
  /** What the client wrote, in order; the persona's and facilitators' words are left out. */
  client_messages: string[];
  /** The ids of client_messages, in the same order, so a measure can name the messages behind it. */
  client_message_ids?: string[];
}

export interface ProgressInput {
  client_id: string;
  /** First name, to write the summary about a person rather than "the client". */
  client_name?: string;
  period: { start: string; end: string };
  focus_areas: string[];
  /** The sessions held in the period, in any order. */
  sessions: ProgressSession[];
}

export const METRICS = [
  'anxiety_level',
  'coping_strategy_usage',
  'low_mood',
  'positive_mood',
  'engagement',
] as const;
export type MetricName = (typeof METRICS)[number];

const METRIC_LABEL: Record<MetricName, string> = {
  anxiety_level: 'anxiety level',
  coping_strategy_usage: 'coping strategy usage',
  low_mood: 'low mood',
  positive_mood: 'positive mood',
  engagement: 'engagement',
};

/** What a caller may name in `focus_areas`, normalised (lowercase, `_` between words). */
const FOCUS_ALIASES: Record<string, MetricName[]> = {};
const alias = (metrics: MetricName[], names: string) => {
  for (const name of names.split(', '))
    FOCUS_ALIASES[name] = [...(FOCUS_ALIASES[name] ?? []), ...metrics];
};
alias(
  ['anxiety_level'],
  'anxiety, anxiety_level, anxiety_management, anxious, stress, stressed, stress_management, worry, worries, panic, overwhelm',
);
alias(
  ['coping_strategy_usage'],
  'coping, coping_strategies, coping_strategy, coping_strategy_usage, coping_skills, coping_techniques',
);
alias(['low_mood', 'positive_mood'], 'mood, mood_management');
alias(['low_mood'], 'low_mood, depression, sadness, loneliness, fatigue, energy');
alias(['positive_mood'], 'positive_mood, wellbeing, well_being, optimism, hope');
alias(['engagement'], 'engagement, participation, involvement');

const normalise = (area: string) =>
  area
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');

const ANXIOUS: ReadonlySet<Emotion> = new Set<Emotion>(['anxious', 'stressed', 'overwhelmed']);
const LOW: ReadonlySet<Emotion> = new Set<Emotion>(['sad', 'lonely', 'tired', 'ashamed']);

/** How the report names a topic, in the third person. */
const TOPIC_LABEL: Record<Topic, string> = {
  work: 'work',
  study: 'studies',
  family: 'family',
  relationship: 'relationships',
  friends: 'social situations',
  sleep: 'sleep',
  health: 'health',
  money: 'money',
};

const round1 = (n: number) => Math.round(n * 10) / 10 || 0;
const round2 = (n: number) => Math.round(n * 100) / 100 || 0;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Where a session's measure came from: the client's own 0–10 rating, or how they wrote. */
export type MeasureSource = 'self_rating' | 'language';

/** One session read into measures; share-based ones are absent when the client said nothing. */
interface SessionReading {
  measures: Partial<Record<MetricName, number>>;
  sources: Partial<Record<MetricName, MeasureSource>>;
  /** For each measure, the positions (0-based) of the client messages it was read from. */
  evidence: Partial<Record<MetricName, number[]>>;
  /** Every self-rating, with the position of its message. */
  ratings: (SelfRating & { message: number })[];
  coping: CopingStrategy[];
  negative: Set<Emotion>;
  /** Topics raised in the same message as a difficult feeling. */
  distressTopics: Topic[];
  risk: boolean;
}

/**
 * How a self-rating of each subject reads as each 0–10 measure: anxiety and stress are anxiety;
 * a mood rating (high = good) is positive mood and, turned over, low mood; a rating of sadness or
 * depression is low mood. Ratings of sleep, pain and the like, or of nothing named, measure none.
 */
const RATED: Partial<Record<MetricName, Partial<Record<RatingSubject, (v: number) => number>>>> = {
  anxiety_level: { anxiety: (v) => v, stress: (v) => v },
  low_mood: { sadness: (v) => v, mood: (v) => 10 - v },
  positive_mood: { mood: (v) => v },
};

const indexesWhere = <T>(items: T[], keep: (item: T) => boolean) =>
  items.flatMap((item, i) => (keep(item) ? [i] : []));

function readSession(messages: string[]): SessionReading {
  const emotions = messages.map(detectEmotions);
  const coping = messages.map(detectCoping);
  const said = (set: ReadonlySet<Emotion>) =>
    indexesWhere(emotions, (list) => list.some((e) => set.has(e)));
  const share = (set: ReadonlySet<Emotion>) => round1((10 * said(set).length) / messages.length);
  const ratings = messages.flatMap((text, message) =>
    extractSelfRatings(text).map((r) => ({ ...r, message })),
  );
  const negative = new Set(emotions.flat().filter((e) => !POSITIVE.has(e)));
  // Sentence by sentence, so "work is fine, but parties make me nervous" blames parties only.
  const distressTopics = messages.flatMap((text) =>
    text
      .split(/[.;!?\n]+|\bbut\b/i)
      .flatMap((part) =>
        detectEmotions(part).some((e) => !POSITIVE.has(e)) ? detectTopics(part) : [],
      ),
  );
  const measures: SessionReading['measures'] = {};
  const sources: SessionReading['sources'] = {};
  const evidence: SessionReading['evidence'] = {};
  const language: [MetricName, ReadonlySet<Emotion>][] = [
    ['anxiety_level', ANXIOUS],
    ['low_mood', LOW],
    ['positive_mood', POSITIVE],
  ];
  for (const [name, set] of messages.length ? language : []) {
    // The client's latest rating in the session stands for it: a later rating updates an
    // earlier one ("it was an 8 when we started, now it's a 5"), and the report compares where
    // sessions ended up. Within a message, a rating said of an earlier time gives way.
    const scales = RATED[name]!;
    const byMessage = messages.map((_, i) =>
      currentRating(ratings.filter((r) => r.message === i && scales[r.subject])),
    );
    const last = byMessage.findLast((r) => r !== undefined);
    if (last) {
      measures[name] = round1(scales[last.subject]!(last.value));
      sources[name] = 'self_rating';
      evidence[name] = [last.message];
    } else {
      measures[name] = share(set);
      sources[name] = 'language';
      evidence[name] = said(set);
    }
  }
  measures.coping_strategy_usage = coping.reduce((sum, list) => sum + list.length, 0);
  evidence.coping_strategy_usage = indexesWhere(coping, (list) => list.length > 0);
  measures.engagement = messages.length;
  evidence.engagement = messages.map((_, i) => i);
  return {
    measures,
    sources,
    evidence,
    ratings,
    coping: coping.flat(),
    negative,
    distressTopics,
    risk: messages.some(mentionsRisk),
  };
}

export function compare(start: number, current: number): ProgressMetric {
  const change =
    start === 0 ? (current === 0 ? 0 : null) : round1(((current - start) / Math.abs(start)) * 100);
  let trend: MetricTrend;
  if (change === null) trend = current > start ? 'increasing' : 'decreasing';
  else trend = change > 10 ? 'increasing' : change < -10 ? 'decreasing' : 'stable';
  return { trend, start_value: start, current_value: current, change_percentage: change };
}

/** Keys by count, ties kept in first-seen order. */
function ranked<K>(items: K[]): [K, number][] {
  const counts = new Map<K, number>();
  for (const k of items) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

function describeChange(label: string, m: ProgressMetric): string {
  if (m.trend === 'stable') {
    return m.start_value === m.current_value
      ? `${label} stayed at ${m.current_value}`
      : `${label} stayed about the same (${m.start_value} to ${m.current_value})`;
  }
  const verb = m.trend === 'increasing' ? 'rose' : 'fell';
  const pct =
    m.change_percentage === null
      ? ''
      : ` (${m.change_percentage > 0 ? '+' : ''}${m.change_percentage}%)`;
  return `${label} ${verb} from ${m.start_value} to ${m.current_value}${pct}`;
}

function recommendFor(
  name: MetricName,
  m: ProgressMetric,
  favourites: CopingStrategy[],
): string | undefined {
  const using = favourites.length ? ` (${joinList(favourites.map(copingPhrase))})` : '';
  switch (name) {
    case 'anxiety_level':
      if (m.trend === 'decreasing')
        return 'Continue the anxiety management techniques that are helping';
      if (m.trend === 'increasing')
        return 'Review recent anxiety triggers and revisit anxiety management techniques';
      if (m.current_value >= 5)
        return 'Anxiety remains high: agree a structured anxiety management plan';
      return m.current_value > 0 ? 'Keep monitoring anxiety between sessions' : undefined;
    case 'coping_strategy_usage':
      if (m.trend === 'increasing')
        return `Keep reinforcing the coping strategies the client is using${using}`;
      if (m.trend === 'decreasing')
        return `Revisit the coping strategies the client used earlier${using}`;
      return m.current_value === 0
        ? 'Introduce coping strategies and plan to practise them between sessions'
        : `Encourage regular practice of the coping strategies already in use${using}`;
    case 'low_mood':
      if (m.trend === 'increasing')
        return 'Monitor mood closely and schedule pleasant activities between sessions';
      if (m.trend === 'decreasing')
        return 'Build on the improved mood with regular pleasant activities';
      return m.current_value >= 5
        ? 'Low mood persists: consider focusing on mood monitoring and activity scheduling'
        : undefined;
    case 'positive_mood':
      if (m.trend === 'increasing')
        return 'Acknowledge the growing optimism and link it to the progress made';
      if (m.trend === 'decreasing')
        return "Explore what has dampened the client's optimism recently";
      return undefined;
    case 'engagement':
      if (m.trend === 'decreasing')
        return 'Check in about motivation and what the client wants from the sessions';
      return undefined;
  }
}

export function analyzeProgress(input: ProgressInput): ProgressReportResponse {
  const base = {
    client_id: input.client_id,
    report_period: { start: input.period.start, end: input.period.end },
  };
  const sessions = [...input.sessions].sort(
    (a, b) => a.started_at.localeCompare(b.started_at) || a.session_id.localeCompare(b.session_id),
  );
  const n = sessions.length;
  const who = input.client_name ? `${input.client_name}'s` : "the client's";
  const period = `from ${input.period.start} to ${input.period.end}`;

  // Focus areas choose and order the metrics; with none the report covers every measure.
  const unknown: string[] = [];
  const chosen: MetricName[] = [];
  for (const area of input.focus_areas) {
    const metrics = FOCUS_ALIASES[normalise(area)];
    if (!metrics) {
      if (!unknown.includes(area.trim())) unknown.push(area.trim());
      continue;
    }
    for (const m of metrics) if (!chosen.includes(m)) chosen.push(m);
  }
  const selected: readonly MetricName[] = chosen.length ? chosen : METRICS;
  const notMeasurable = unknown.length
    ? `Not measurable from session transcripts: ${joinList(unknown)}.`
    : '';

  if (n === 0) {
    return {
      ...base,
      sessions_analyzed: 0,
      progress_summary: [
        `No sessions were held ${period}, so there is nothing to analyse yet.`,
        notMeasurable,
      ]
        .filter(Boolean)
        .join(' '),
      metrics: {},
      patterns: [],
      recommendations: [],
    };
  }

  const readings = sessions.map((s) => readSession(s.client_messages));

  const metrics: Partial<Record<MetricName, ProgressMetric>> & Record<string, ProgressMetric> = {};
  // How the summary names each metric: whether its endpoints are the client's own ratings.
  const label: Partial<Record<MetricName, string>> = {};
  for (const name of selected) {
    const measured = readings.filter((r) => r.measures[name] !== undefined);
    if (!measured.length) continue;
    const [first, last] = [measured[0]!, measured.at(-1)!];
    metrics[name] = compare(first.measures[name]!, last.measures[name]!);
    const rated = [first.sources[name], last.sources[name]].map((s) => s === 'self_rating');
    label[name] =
      rated[0] && rated[1]
        ? `self-rated ${METRIC_LABEL[name]}`
        : rated[0] || rated[1]
          ? `${METRIC_LABEL[name]} (self-rated in the ${rated[0] ? 'first session, read from language in the latest' : 'latest session, read from language in the first'})`
          : METRIC_LABEL[name];
  }

  // ---- patterns ----
  const patterns: ProgressPattern[] = [];
  const riskSessions = readings.filter((r) => r.risk).length;

  const emotionSessions = ranked(readings.flatMap((r) => [...r.negative]));
  const [recurring, recurringIn] = emotionSessions[0] ?? [];
  if (recurring && recurringIn! >= 2) {
    patterns.push({
      description: `Client described feeling ${recurring} in ${recurringIn} of ${n} sessions.`,
      confidence: round2(Math.min(0.95, 0.5 + (0.4 * recurringIn!) / n)),
    });
  }

  const topicMessages = ranked(readings.flatMap((r) => r.distressTopics));
  const [topTopic, topTopicCount] = topicMessages[0] ?? [];
  if (topTopic && topTopicCount! >= 2) {
    patterns.push({
      description: `Difficult feelings came up most often in connection with ${TOPIC_LABEL[topTopic]} (${plural(topTopicCount!, 'mention')}).`,
      confidence: round2(Math.min(0.9, 0.4 + 0.1 * topTopicCount!)),
    });
  }

  // The earlier half of the period against the latest session: which difficulties eased and
  // which persist.
  let persisting: Topic | undefined;
  if (n >= 2) {
    const early = new Set(readings.slice(0, Math.floor(n / 2)).flatMap((r) => r.distressTopics));
    const lateRanked = ranked(readings.at(-1)!.distressTopics);
    const late = new Set(lateRanked.map(([t]) => t));
    const eased = [...early].filter((t) => !late.has(t));
    persisting = lateRanked[0]?.[0];
    const confidence = round2(Math.min(0.9, 0.5 + 0.05 * n));
    if (eased.length && persisting) {
      patterns.push({
        description: `Client reports fewer difficulties with ${joinList(eased.map((t) => TOPIC_LABEL[t]))} than earlier in the period, but continues to struggle with ${TOPIC_LABEL[persisting]}.`,
        confidence,
      });
    } else if (eased.length) {
      patterns.push({
        description: `Difficulties with ${joinList(eased.map((t) => TOPIC_LABEL[t]))} raised earlier in the period did not come up in the latest session.`,
        confidence,
      });
    }
  }

  // What the client said of their own anxiety, first rated session against the last.
  const selfRated = readings.filter((r) => r.sources.anxiety_level === 'self_rating');
  if (selfRated.length >= 2) {
    const [from, to] = [selfRated[0]!, selfRated.at(-1)!].map((r) => r.measures.anxiety_level!);
    patterns.push({
      description: `Self-rated anxiety ${from === to ? `stayed at ${to}` : `went from ${from} to ${to}`} out of 10 (client's own ratings in ${selfRated.length} of ${n} sessions).`,
      confidence: round2(Math.min(0.95, 0.7 + 0.05 * selfRated.length)),
    });
  } else if (selfRated.length === 1 && n >= 2) {
    patterns.push({
      description: `Client rated their own anxiety ${selfRated[0]!.measures.anxiety_level} out of 10 in 1 of ${n} sessions; the other sessions are read from language.`,
      confidence: 0.6,
    });
  }

  const anxiety = readings
    .map((r) => r.measures.anxiety_level)
    .filter((v): v is number => v !== undefined);
  if (anxiety.length >= 3) {
    const steps = anxiety.slice(1).map((v, i) => v - anxiety[i]!);
    const first = anxiety[0]!;
    const last = anxiety.at(-1)!;
    if (steps.every((d) => d <= 0) && last < first) {
      patterns.push({
        description: 'Anxiety eased from one session to the next.',
        confidence: 0.8,
      });
    } else if (steps.every((d) => d >= 0) && last > first) {
      patterns.push({ description: 'Anxiety rose from one session to the next.', confidence: 0.8 });
    } else if (Math.max(...anxiety) - Math.min(...anxiety) >= 3) {
      patterns.push({
        description: `Anxiety varied between sessions (from ${Math.min(...anxiety)} to ${Math.max(...anxiety)} out of 10).`,
        confidence: 0.6,
      });
    }
  }

  // Do coping strategies go with calmer sessions?
  const withCoping = readings.filter(
    (r) => r.measures.anxiety_level !== undefined && r.coping.length > 0,
  );
  const without = readings.filter(
    (r) => r.measures.anxiety_level !== undefined && r.coping.length === 0,
  );
  if (withCoping.length && without.length) {
    const mean = (rs: SessionReading[]) =>
      round1(rs.reduce((s, r) => s + r.measures.anxiety_level!, 0) / rs.length);
    const [a, b] = [mean(withCoping), mean(without)];
    if (Math.abs(a - b) >= 1) {
      patterns.push({
        description: `Anxiety was ${a < b ? 'lower' : 'higher'} in sessions where the client used coping strategies (on average ${a} out of 10, against ${b} without).`,
        confidence: round2(Math.min(0.85, 0.45 + 0.05 * n)),
      });
    }
  }

  patterns.sort((x, y) => y.confidence - x.confidence);
  if (riskSessions > 0) {
    patterns.unshift({
      description: `Client language in ${riskSessions} of ${n} sessions suggested a risk of self-harm; this needs professional review.`,
      confidence: 0.9,
    });
  }

  // ---- recommendations ----
  // Where the difficulties lie matters unless the caller asked only about other things.
  const aboutDistress =
    !chosen.length || chosen.includes('anxiety_level') || chosen.includes('low_mood');
  const favourites = ranked(readings.flatMap((r) => r.coping))
    .filter(([s]) => s !== 'general')
    .slice(0, 2)
    .map(([s]) => s);
  const recommendations = [
    ...(riskSessions > 0 ? ['Safety planning with a qualified professional'] : []),
    ...selected.map((name) => {
      const m = metrics[name];
      return m ? recommendFor(name, m, favourites) : undefined;
    }),
    ...(aboutDistress && (persisting ?? topTopic)
      ? [`Focus a session on the difficulties with ${TOPIC_LABEL[(persisting ?? topTopic)!]}`]
      : []),
  ].filter((r): r is string => r !== undefined);

  // ---- summary ----
  const shown = selected.filter((name) => metrics[name]);
  const measured =
    n === 1
      ? shown.length
        ? `Only one session was held ${period}, so there is no trend yet: ${joinList(shown.map((name) => `${label[name]!} ${metrics[name]!.current_value}`))}.`
        : `Only one session was held ${period}.`
      : shown.length
        ? `Across ${n} sessions ${period}, ${who} ${joinList(shown.map((name) => describeChange(label[name]!, metrics[name]!)))}.`
        : `${n} sessions were held ${period}, but the client wrote nothing to measure.`;
  const progress_summary = [measured, patterns[0]?.description ?? '', notMeasurable]
    .filter(Boolean)
    .join(' ');

  return {
    ...base,
    sessions_analyzed: n,
    progress_summary,
    metrics,
    patterns,
    recommendations: [...new Set(recommendations)],
  };
}

/** A measure of one session with the client messages it was read from. */
export interface MeasureTrace {
  value: number;
  source: MeasureSource | 'count';
  message_ids: string[];
}

export interface SessionTrace {
  session_id: string;
  started_at: string;
  measures: Partial<Record<MetricName, MeasureTrace>>;
  self_ratings: (SelfRating & { message_id: string })[];
}

/**
 * Where each session's measures in `analyzeProgress` came from, message by message, in session
 * order; kept beside the report because its schema has no room for it. A message is named by its
 * id when `client_message_ids` is given, else as `<session_id>#<position from 1>`.
 */
export function traceProgress(input: ProgressInput): SessionTrace[] {
  return [...input.sessions]
    .sort(
      (a, b) =>
        a.started_at.localeCompare(b.started_at) || a.session_id.localeCompare(b.session_id),
    )
    .map((s) => {
      const r = readSession(s.client_messages);
      const id = (i: number) => s.client_message_ids?.[i] ?? `${s.session_id}#${i + 1}`;
      const measures: SessionTrace['measures'] = {};
      for (const name of METRICS) {
        const value = r.measures[name];
        if (value === undefined) continue;
        measures[name] = {
          value,
          source: r.sources[name] ?? 'count',
          message_ids: (r.evidence[name] ?? []).map(id),
        };
      }
      return {
        session_id: s.session_id,
        started_at: s.started_at,
        measures,
        self_ratings: r.ratings.map(({ message, ...rating }) => ({
          ...rating,
          message_id: id(message),
        })),
      };
    });
}
