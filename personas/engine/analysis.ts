/**
 * End-of-session analysis for the local engine: reads what each client message expresses
 * (feelings and their intensity, thinking traps, self-ratings, parts of life) and turns it into
 * the seed's summary shape. Every key point and insight names the client messages it came from,
 * with the words that show it, so a facilitator can check it against the transcript. Only client
 * turns are read, so the persona's own reflections ("it sounds like you are feeling anxious")
 * never count as the client's mood.
 */
import type { AnalysisInput, Evidence, Insight, SessionAnalysis } from './types';
import { DISTORTION_LABEL, detectDistortions, type Distortion } from './distortions';
import {
  currentRating,
  distressOf,
  extractSelfRatings,
  detectTopics,
  goalOverlap,
  goalPhrase,
  joinList,
  mentionsRisk,
  POSITIVE,
  readEmotions,
  topicPhrase,
  type Emotion,
  type EmotionReading,
  type RatingSubject,
  type Topic,
} from './lexicon';

const FOCUS: Record<Emotion, string | undefined> = {
  anxious: 'Anxiety management techniques',
  stressed: 'Stress management techniques',
  sad: 'Mood monitoring and pleasant activity scheduling',
  overwhelmed: 'Prioritizing and breaking tasks into small steps',
  angry: 'Recognizing anger triggers and early warning signs',
  frustrated: 'Problem solving around current obstacles',
  lonely: 'Building social connection',
  tired: 'Sleep and energy routines',
  ashamed: 'Self-compassion and challenging self-criticism',
  hopeful: undefined,
  better: undefined,
};

const round2 = (n: number) => Math.round(n * 100) / 100;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Keys by count, ties kept in first-seen order (Map preserves insertion order). */
function ranked<K>(counts: Map<K, number>): K[] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
}

function tally<K>(lists: K[][]): Map<K, number> {
  const counts = new Map<K, number>();
  for (const list of lists) for (const k of new Set(list)) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}

/** The sentences of a message, as written, so an excerpt can be found in it again. */
const sentences = (text: string) =>
  (text.match(/[^.!?;\n]+[.!?]*/g) ?? [text]).map((s) => s.trim()).filter(Boolean);

/** One client message read for the analysis. */
export interface ClientMessage {
  id: string;
  text: string;
  emotions: EmotionReading[];
  distress: number;
  topics: Topic[];
  distortions: { distortion: Distortion; excerpt: string }[];
  risk: boolean;
}

function read(id: string, text: string): ClientMessage {
  const emotions = readEmotions(text);
  return {
    id,
    text,
    emotions,
    distress: distressOf(emotions).distress,
    topics: detectTopics(text),
    distortions: detectDistortions(text),
    risk: mentionsRisk(text),
  };
}

/**
 * Evidence cites at most this many messages per finding, spread over the session (first and
 * last included). A long session would otherwise store and publish every matching message with
 * every finding: a 1,000-message session came to 650 KB of analysis, past what the session
 * document and the `session.ended` event should carry, and seconds of CPU to find excerpts.
 */
export const MAX_EVIDENCE = 5;
/** Longer messages are cited by their first sentence that shows the finding, cut to this. */
const MAX_EXCERPT = 240;

export function cite<T>(items: readonly T[], max = MAX_EVIDENCE): T[] {
  if (items.length <= max) return [...items];
  return Array.from(
    { length: max },
    (_, i) => items[Math.round((i * (items.length - 1)) / (max - 1))]!,
  );
}

const cut = (text: string) => (text.length <= MAX_EXCERPT ? text : text.slice(0, MAX_EXCERPT));
const whole = (m: { id: string; text: string }): Evidence => ({
  message_id: m.id,
  excerpt: cut(m.text),
});

/** The first sentence of a message that shows something, else the whole message. */
function excerpt(m: ClientMessage, shows: (sentence: string) => boolean): Evidence {
  return { message_id: m.id, excerpt: cut(sentences(m.text).find(shows) ?? m.text) };
}

const feels = (e: Emotion) => (s: string) => readEmotions(s).some((r) => r.emotion === e);

/** The client's lines with their ids (a turn without one is named by its place). */
function clientLines(input: AnalysisInput): { id: string; text: string }[] {
  return input.transcript.flatMap((t, i) =>
    t.sender_type === 'client'
      ? [{ id: t.id ?? `${input.session_id}#${i + 1}`, text: t.content }]
      : [],
  );
}

/** The client's messages, read one by one (the costly part of an analysis). */
const readAll = (input: AnalysisInput) => clientLines(input).map((l) => read(l.id, l.text));

/**
 * The same reading in slices, yielding to the event loop between them: the persona worker
 * analysing a long session (about 0.5 ms a message) keeps writing other sessions' replies.
 */
export async function readClientMessages(input: AnalysisInput): Promise<ClientMessage[]> {
  const out: ClientMessage[] = [];
  for (const line of clientLines(input)) {
    out.push(read(line.id, line.text));
    if (out.length % 25 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

export function analyzeSession(
  input: AnalysisInput,
  messages: ClientMessage[] = readAll(input),
): SessionAnalysis {
  const perMessage = messages.map((m) => m.emotions.map((e) => e.emotion));
  const emotionCounts = tally(perMessage);
  const topicCounts = tally<Topic>(messages.map((m) => m.topics));
  const distortionCounts = tally(messages.map((m) => m.distortions.map((d) => d.distortion)));
  const emotions = ranked(emotionCounts);
  const topics = ranked(topicCounts);
  const distortions = ranked(distortionCounts);
  const goals = input.goals.map(goalPhrase);
  const n = plural(messages.length, 'message');

  const count = (e: Emotion) => emotionCounts.get(e) ?? 0;
  const withEmotion = (e: Emotion) =>
    cite(messages.filter((m) => m.emotions.some((r) => r.emotion === e))).map((m) =>
      excerpt(m, feels(e)),
    );
  const withTopic = (t: Topic) =>
    cite(messages.filter((m) => m.topics.includes(t))).map((m) =>
      excerpt(m, (s) => detectTopics(s).includes(t)),
    );
  const withDistortion = (d: Distortion) =>
    cite(
      messages.flatMap((m) =>
        m.distortions
          .filter((x) => x.distortion === d)
          .map((x) => ({ message_id: m.id, excerpt: cut(x.excerpt) })),
      ),
    );

  const primaryCount = emotions[0] ? count(emotions[0]) : 0;
  const mood = {
    primary: emotions[0] ?? 'neutral',
    secondary: emotions[1] ?? 'neutral',
    // More messages carrying the same emotion make the reading more certain; none is a guess.
    confidence: primaryCount ? round2(Math.min(0.95, 0.4 + 0.15 * primaryCount)) : 0.3,
  };

  // Distress over the session: the first third of the client's messages against the last third.
  const third = Math.max(1, Math.floor(messages.length / 3));
  const mean = (ms: ClientMessage[]) => round2(ms.reduce((s, m) => s + m.distress, 0) / ms.length);
  const [early, late] = [messages.slice(0, third), messages.slice(-third)];
  const shift = messages.length >= 3 ? { from: mean(early), to: mean(late) } : undefined;

  const flagged = messages.filter((m) => m.risk);
  const summary = [
    `In this session with ${input.persona.name}, the client sent ${n}.`,
    // A facilitator reads this first: risk language outranks everything else in the summary.
    flagged.length
      ? `In ${plural(flagged.length, 'message')} the client used language suggesting a risk of suicide or self-harm, which needs professional review.`
      : '',
    emotions.length
      ? `They mostly described feeling ${joinList(emotions.slice(0, 3))}.`
      : 'No strong emotions were expressed.',
    topics.length ? `Topics raised: ${joinList(topics.slice(0, 3))}.` : '',
    distortions.length
      ? `Thinking patterns noticed: ${joinList(distortions.slice(0, 3).map((d) => DISTORTION_LABEL[d]))}.`
      : '',
    shift && shift.from - shift.to >= 0.2
      ? 'Their distress eased from the first messages to the last.'
      : shift && shift.to - shift.from >= 0.2
        ? 'Their distress grew from the first messages to the last.'
        : '',
    goals.length ? `Session goals: ${joinList(goals)}.` : 'No goals were set for this session.',
  ]
    .filter(Boolean)
    .join(' ');

  const points: { key_point: string; evidence: Evidence[] }[] = [];
  if (flagged.length)
    points.push({
      key_point: `Client used language suggesting a risk of suicide or self-harm in ${plural(flagged.length, 'message')}`,
      evidence: cite(flagged).map(whole),
    });
  for (const e of emotions.slice(0, 3)) {
    points.push({
      key_point: `Client expressed feeling ${e} in ${plural(count(e), 'message')}`,
      evidence: withEmotion(e),
    });
  }
  // The client's own ratings, latest per subject, each naming the client message it came from.
  const rated = new Map<RatingSubject, { key_point: string; evidence: Evidence[] }>();
  messages.forEach((m, i) => {
    const ratings = extractSelfRatings(m.text);
    for (const subject of new Set(ratings.map((r) => r.subject))) {
      const r = currentRating(ratings.filter((x) => x.subject === subject))!;
      const change =
        r.from === undefined ? '' : ` (${r.from < r.value ? 'up' : 'down'} from ${r.from})`;
      const what = subject === 'unknown' ? 'gave a self-rating of' : `rated their ${subject}`;
      rated.delete(subject);
      rated.set(subject, {
        key_point: `Client ${what} ${r.value} out of 10${change} in client message ${i + 1}`,
        evidence: [excerpt(m, (s) => s.includes(r.text))],
      });
    }
  });
  points.push(...[...rated.values()].slice(-3));
  for (const d of distortions.slice(0, 2)) {
    const evidence = withDistortion(d);
    points.push({
      key_point: `Client's thinking showed ${DISTORTION_LABEL[d]}: "${evidence[0]!.excerpt}"`,
      evidence,
    });
  }
  for (const t of topics.slice(0, 3)) {
    points.push({
      key_point: `Client talked about things ${topicPhrase(t)}`,
      evidence: withTopic(t),
    });
  }
  input.goals.forEach((goal, i) => {
    points.push({
      key_point: `Goal for the session: ${goals[i]}`,
      evidence: cite(messages.filter((m) => goalOverlap(goal, m.text) >= 2)).map((m) =>
        excerpt(m, (s) => goalOverlap(goal, s) >= 2),
      ),
    });
  });

  const recurring = emotions.find((e) => !POSITIVE.has(e) && count(e) >= 2);
  const about = topics[0] ? `, often ${topicPhrase(topics[0])}` : '';
  const firstLow = messages.findIndex((m) => m.emotions.some((e) => !POSITIVE.has(e.emotion)));
  const lastUp = messages.findLastIndex((m) => m.emotions.some((e) => POSITIVE.has(e.emotion)));
  const last = messages.at(-1);
  const stillLow = (last?.emotions ?? [])
    .filter((e) => !POSITIVE.has(e.emotion))
    .map((e) => e.emotion);
  const trap = distortions.find((d) => (distortionCounts.get(d) ?? 0) >= 2);
  const risky = messages.filter((m) => m.risk);
  const ratedDrop = [...rated.entries()].find(([s]) => s === 'anxiety' || s === 'stress');
  const insight = (
    type: Insight['type'],
    confidence: number,
    text: string,
    evidence: Evidence[],
  ): Insight => ({
    type,
    text,
    confidence,
    evidence,
  });
  const insights = [
    risky.length > 0 &&
      insight(
        'risk',
        0.9,
        'Client language suggests a risk of self-harm: needs professional review.',
        cite(risky).map(whole),
      ),
    recurring &&
      insight(
        'pattern',
        round2(0.4 + 0.1 * Math.min(5, count(recurring))),
        `Client repeatedly described feeling ${recurring}${about}.`,
        withEmotion(recurring),
      ),
    trap &&
      insight(
        'pattern',
        round2(Math.min(0.9, 0.4 + 0.1 * distortionCounts.get(trap)!)),
        `Client's thinking repeatedly showed ${DISTORTION_LABEL[trap]}.`,
        withDistortion(trap),
      ),
    firstLow >= 0 &&
      lastUp > firstLow &&
      insight('progress', 0.6, 'Client felt better later in the session than at the start.', [
        excerpt(messages[firstLow]!, (s) => readEmotions(s).some((e) => !POSITIVE.has(e.emotion))),
        excerpt(messages[lastUp]!, (s) => readEmotions(s).some((e) => POSITIVE.has(e.emotion))),
      ]),
    shift &&
      shift.from - shift.to >= 0.2 &&
      insight(
        'progress',
        round2(Math.min(0.85, 0.5 + (shift.from - shift.to) / 2)),
        `Distress in the client's words eased from ${shift.from} in the first messages to ${shift.to} in the last (0–1).`,
        [...cite(early, 2), ...cite(late, 3)].map(whole),
      ),
    ratedDrop &&
      /down from/.test(ratedDrop[1].key_point) &&
      insight(
        'progress',
        0.8,
        `Client's own rating of their ${ratedDrop[0]} came down during the session.`,
        ratedDrop[1].evidence,
      ),
    stillLow.length > 0 &&
      insight('concern', 0.6, `Client still felt ${joinList(stillLow)} at the end.`, [
        excerpt(last!, (s) => readEmotions(s).some((e) => !POSITIVE.has(e.emotion))),
      ]),
    messages.length >= 3 &&
      insight(
        'strength',
        0.5,
        `Client engaged actively, sending ${n}.`,
        [messages[0]!, last!].map(whole),
      ),
  ].filter((i): i is Insight => Boolean(i));

  const focus = [
    ...(risky.length ? ['Safety planning with a qualified professional'] : []),
    ...emotions.map((e) => FOCUS[e]).filter((f): f is string => f !== undefined),
    ...(distortions.length ? ['Catching and questioning unhelpful thoughts'] : []),
    ...goals.map((g) => `Continue working on: ${g}`),
    `Practice ${input.persona.techniques[0] ?? 'skills from this session'}`,
  ];

  return {
    summary,
    key_points: points.map((p) => p.key_point),
    insights,
    mood_analysis: mood,
    recommended_focus_areas: [...new Set(focus)].slice(0, 4),
    key_point_evidence: points,
    mood_evidence: emotions[0] ? withEmotion(emotions[0]) : [],
  };
}
