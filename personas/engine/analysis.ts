/**
 * End-of-session analysis for the local engine: counts what the client's messages express and
 * turns the counts into the seed's summary shape. Only client turns are read, so the persona's
 * own reflections ("it sounds like you are feeling anxious") never count as the client's mood.
 */
import type { AnalysisInput, Insight, SessionAnalysis } from './types';
import {
  currentRating,
  detectEmotions,
  extractSelfRatings,
  detectTopics,
  goalPhrase,
  joinList,
  mentionsRisk,
  POSITIVE,
  topicPhrase,
  type Emotion,
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

const note = (type: Insight['type'], confidence: number, text: string): Insight => ({
  type,
  text,
  confidence,
});
const round2 = (n: number) => Math.round(n * 100) / 100;
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Keys by count, ties kept in first-seen order (Map preserves insertion order). */
function ranked<K>(counts: Map<K, number>): K[] {
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([k]) => k);
}

function tally<K>(lists: K[][]): Map<K, number> {
  const counts = new Map<K, number>();
  for (const list of lists) for (const k of list) counts.set(k, (counts.get(k) ?? 0) + 1);
  return counts;
}

export function analyzeSession(input: AnalysisInput): SessionAnalysis {
  const messages = input.transcript.filter((t) => t.sender_type === 'client').map((t) => t.content);
  const perMessage = messages.map(detectEmotions);
  const emotionCounts = tally(perMessage);
  const topicCounts = tally<Topic>(messages.map(detectTopics));
  const emotions = ranked(emotionCounts);
  const topics = ranked(topicCounts);
  const goals = input.goals.map(goalPhrase);
  const risk = messages.some(mentionsRisk);
  const n = plural(messages.length, 'message');

  const count = (e: Emotion) => emotionCounts.get(e) ?? 0;
  const primaryCount = emotions[0] ? count(emotions[0]) : 0;
  const mood = {
    primary: emotions[0] ?? 'neutral',
    secondary: emotions[1] ?? 'neutral',
    // More messages carrying the same emotion make the reading more certain; none is a guess.
    confidence: primaryCount ? round2(Math.min(0.95, 0.4 + 0.15 * primaryCount)) : 0.3,
  };

  const summary = [
    `In this session with ${input.persona.name}, the client sent ${n}.`,
    emotions.length
      ? `They mostly described feeling ${joinList(emotions.slice(0, 3))}.`
      : 'No strong emotions were expressed.',
    topics.length ? `Topics raised: ${joinList(topics.slice(0, 3))}.` : '',
    goals.length ? `Session goals: ${joinList(goals)}.` : 'No goals were set for this session.',
  ]
    .filter(Boolean)
    .join(' ');

  // The client's own ratings, latest per subject, each naming the client message it came from.
  const rated = new Map<RatingSubject, string>();
  messages.forEach((text, i) => {
    const ratings = extractSelfRatings(text);
    for (const subject of new Set(ratings.map((r) => r.subject))) {
      const r = currentRating(ratings.filter((x) => x.subject === subject))!;
      const change =
        r.from === undefined ? '' : ` (${r.from < r.value ? 'up' : 'down'} from ${r.from})`;
      const what = subject === 'unknown' ? 'gave a self-rating of' : `rated their ${subject}`;
      rated.delete(subject);
      rated.set(subject, `Client ${what} ${r.value} out of 10${change} in client message ${i + 1}`);
    }
  });

  const key_points = [
    ...emotions
      .slice(0, 3)
      .map((e) => `Client expressed feeling ${e} in ${plural(count(e), 'message')}`),
    ...[...rated.values()].slice(-3),
    ...topics.slice(0, 3).map((t) => `Client talked about things ${topicPhrase(t)}`),
    ...goals.map((g) => `Goal for the session: ${g}`),
  ];

  const recurring = emotions.find((e) => !POSITIVE.has(e) && count(e) >= 2);
  const about = topics[0] ? `, often ${topicPhrase(topics[0])}` : '';
  const firstLow = perMessage.findIndex((l) => l.some((e) => !POSITIVE.has(e)));
  const lastUp = perMessage.findLastIndex((l) => l.some((e) => POSITIVE.has(e)));
  const stillLow = (perMessage.at(-1) ?? []).filter((e) => !POSITIVE.has(e));
  const insights = [
    risk &&
      note('risk', 0.9, 'Client language suggests a risk of self-harm: needs professional review.'),
    recurring &&
      note(
        'pattern',
        round2(0.4 + 0.1 * Math.min(5, count(recurring))),
        `Client repeatedly described feeling ${recurring}${about}.`,
      ),
    firstLow >= 0 &&
      lastUp > firstLow &&
      note('progress', 0.6, 'Client felt better later in the session than at the start.'),
    stillLow.length > 0 &&
      note('concern', 0.6, `Client still felt ${joinList(stillLow)} at the end.`),
    messages.length >= 3 && note('strength', 0.5, `Client engaged actively, sending ${n}.`),
  ].filter((i): i is Insight => Boolean(i));

  const focus = [
    ...(risk ? ['Safety planning with a qualified professional'] : []),
    ...emotions.map((e) => FOCUS[e]).filter((f): f is string => f !== undefined),
    ...goals.map((g) => `Continue working on: ${g}`),
    `Practice ${input.persona.techniques[0] ?? 'skills from this session'}`,
  ];

  return {
    summary,
    key_points,
    insights,
    mood_analysis: mood,
    recommended_focus_areas: [...new Set(focus)].slice(0, 4),
  };
}
