import { analyzeProgress, traceProgress, type ProgressInput } from '../personas/engine/progress';
import {
  currentRating,
  detectEmotions,
  extractSelfRatings,
  mentionsRisk,
  type RatingSubject,
} from '../personas/engine/lexicon';
import { progressReportResponseSchema } from '../lib/schemas/analysis';
import { analyzeSession } from '../personas/engine/analysis';
import { loadPersonaDefinitions, PersonaRegistry } from '../personas';

/** Each message's ratings as [value, subject], plus `from` for a change. */
const read = (text: string) =>
  extractSelfRatings(text).map((r) =>
    r.from === undefined ? [r.value, r.subject] : [r.value, r.subject, r.from],
  );

describe('self-ratings in client messages', () => {
  it.each<[string, number, RatingSubject]>([
    ['about a 7 out of 10', 7, 'unknown'],
    ['My anxiety is 6/10', 6, 'anxiety'],
    ["I'd rate it a 4", 4, 'unknown'],
    ["On a scale of 1 to 10 it's an 8", 8, 'unknown'],
    ['I feel anxious, about a 7', 7, 'anxiety'],
    ['Honestly my stress is at about 4 today', 4, 'stress'],
    ['It feels like 7 on a scale of 10', 7, 'unknown'],
    ['7 on a scale of one to ten', 7, 'unknown'],
    ["Out of 10, I'd say 7.", 7, 'unknown'],
    ['anxiety 6.5/10', 6.5, 'anxiety'],
    ['Sleep was a seven', 7, 'sleep'],
    ["My anxiety, I'd say, is an eight today", 8, 'anxiety'],
    ["I've been so worried. It's at a 9 all week", 9, 'anxiety'],
    ["I'm sad, it's a 3 today", 3, 'sadness'],
    ['My mood is maybe a 6', 6, 'mood'],
    ['I would give my mood 6', 6, 'mood'],
    ['Work has me overwhelmed, like a solid 8', 8, 'stress'],
  ])('%j → %d (%s)', (text, value, subject) => {
    expect(read(text)).toEqual([[value, subject]]);
  });

  it('reads a range as its middle', () => {
    expect(read('about a 6-7')).toEqual([[6.5, 'unknown']]);
    expect(read('My anxiety is maybe a 6 or 7 today')).toEqual([[6.5, 'anxiety']]);
    expect(read('There were a 3 or 4 people')).toEqual([]);
  });

  it('rescales other scales to 0–10', () => {
    expect(read("I'd say 70 out of 100")).toEqual([[7, 'unknown']]);
    expect(read('My mood is 3 out of 5')).toEqual([[6, 'mood']]);
    expect(read('anxiety 45/100')).toEqual([[4.5, 'anxiety']]);
  });

  it('takes the latest value of a change, keeping where it came from', () => {
    expect(read('My anxiety went from 8 to 5')).toEqual([[5, 'anxiety', 8]]);
    expect(read('It went from an 8/10 down to a 5/10')).toEqual([[5, 'unknown', 8]]);
    expect(read('stress dropped from eight to four')).toEqual([[4, 'stress', 8]]);
  });

  it('reads a rating said of an earlier time as past, so the current one wins', () => {
    const ratings = extractSelfRatings("Last week my anxiety was an 8, now it's a 5");
    expect(ratings.map((r) => [r.value, r.past ?? false])).toEqual([
      [8, true],
      [5, false],
    ]);
    expect(currentRating(ratings)?.value).toBe(5);
    expect(currentRating(extractSelfRatings("It's a 5 now, it was an 8 yesterday"))?.value).toBe(5);
  });

  it('handles negation: a denied rating is dropped, "not even a 2" is below 2', () => {
    expect(read("It's not a 7, more like a 4")).toEqual([[4, 'unknown']]);
    expect(read('My anxiety is not even a 2 today')).toEqual([[1, 'anxiety']]);
    expect(read("Stress isn't a 9 anymore")).toEqual([]);
    expect(read('no more than a 3')).toEqual([[3, 'unknown']]);
  });

  it('falls back to the feeling the message expresses most', () => {
    expect(read("I've been so nervous and worried this week. It's a 7.")).toEqual([[7, 'anxiety']]);
    expect(read('Feeling hopeful! Honestly a 7')).toEqual([[7, 'mood']]);
  });

  it.each([
    'I had 3 meetings today',
    'I walked for 10 minutes',
    "I'm 34 and my son is 7",
    'The appointment is at 7pm',
    'I see the doctor at 7:30',
    'On 3/10 I saw my boss',
    'We met on 3/10/2024',
    'I took a 10 minute walk',
    'I slept 5 hours',
    'I have a 2 year old',
    'I work from 9 to 5',
    'I scored 8 on the exam',
    'I ran a 5k',
    'It was a 2 and a half hour drive',
    'I have a 1 on 1 with my boss',
    'I got a 9 in my exam',
    'Read chapter 7 of 10 books',
    'My anxiety got worse after 2 coffees',
    'It was 9 out of 20 people',
    "It's a 12 out of 10",
    'No numbers here at all, just anxiety',
  ])('finds no rating in %j', (text) => {
    expect(extractSelfRatings(text)).toEqual([]);
  });

  it('returns every rating in order with the words it was read from', () => {
    const [a, b] = extractSelfRatings('Anxiety is a 6 and sleep was 3 out of 10');
    expect(a).toMatchObject({ value: 6, subject: 'anxiety', text: '6' });
    expect(b).toMatchObject({ value: 3, subject: 'sleep', text: '3 out of 10' });
  });
});

describe('the clinical lexicon', () => {
  it('reads feelings, with negation', () => {
    expect(detectEmotions('I feel anxious and overwhelmed at work')).toEqual([
      'anxious',
      'overwhelmed',
    ]);
    expect(detectEmotions("I'm not anxious anymore")).not.toContain('anxious');
    expect(detectEmotions('I am not anxious')).toEqual([]);
  });

  it.each([
    "I don't see the point in living",
    'I want to die',
    "I don't know if I want to die",
    "I can't stop thinking about killing myself",
    "I've thought about ending it all",
    "There's no reason to live",
    "I don't want to live anymore",
    'Everyone would be better off dead without me.',
    "I'd never hurt myself, but sometimes I want to die",
    'I have nothing left to live for',
  ])('flags %j as a risk', (text) => {
    expect(mentionsRisk(text)).toBe(true);
  });

  it.each([
    'I would never hurt myself',
    'I would never hurt myself, I promise',
    "I'm not going to kill myself",
    "I'm not suicidal",
    'I have never self-harmed',
    'Work is killing me',
    "I'm dying to see the film",
  ])('does not flag %j', (text) => {
    expect(mentionsRisk(text)).toBe(false);
  });
});

const period = { start: '2025-04-01', end: '2025-05-11' };
const rated: ProgressInput = {
  client_id: 'c_sam',
  client_name: 'Sam',
  period,
  focus_areas: [],
  sessions: [
    {
      session_id: 's_1',
      started_at: '2025-04-01T10:00:00.000Z',
      client_messages: [
        'Work has been fine this week.',
        "My anxiety is about an 8 out of 10 and I'd rate my mood a 3.",
        'I had 3 meetings on Monday.',
      ],
      client_message_ids: ['m_1a', 'm_1b', 'm_1c'],
    },
    {
      session_id: 's_2',
      started_at: '2025-04-15T10:00:00.000Z',
      // No ratings: measured from language.
      client_messages: ['I feel anxious at work.', 'I tried breathing.'],
    },
    {
      session_id: 's_3',
      started_at: '2025-05-06T10:00:00.000Z',
      client_messages: [
        'I still feel anxious and worried about everything.',
        'It went from 8 to 5 since we started, my anxiety I mean.',
        'Mood is a 6 out of 10.',
      ],
      client_message_ids: ['m_3a', 'm_3b', 'm_3c'],
    },
  ],
};

describe('progress from self-ratings', () => {
  it("measures anxiety and mood from the client's own ratings and says so", () => {
    const report = analyzeProgress(rated);
    expect(progressReportResponseSchema.parse(report)).toEqual(report);
    // Language alone would read s_3 as 6.7 (2 of 3 messages anxious); the ratings win.
    expect(report.metrics.anxiety_level).toEqual({
      trend: 'decreasing',
      start_value: 8,
      current_value: 5,
      change_percentage: -37.5,
    });
    expect(report.metrics.low_mood).toMatchObject({ start_value: 7, current_value: 4 });
    expect(report.metrics.positive_mood).toMatchObject({ start_value: 3, current_value: 6 });
    expect(report.progress_summary).toContain(
      "Sam's self-rated anxiety level fell from 8 to 5 (-37.5%)",
    );
    expect(report.patterns).toContainEqual({
      description:
        "Self-rated anxiety went from 8 to 5 out of 10 (client's own ratings in 2 of 3 sessions).",
      confidence: 0.8,
    });
  });

  it('falls back to language where a session has no rating, and names a mixed comparison', () => {
    const report = analyzeProgress({ ...rated, sessions: rated.sessions.slice(0, 2) });
    // s_2: 1 of 2 messages anxious → 5.
    expect(report.metrics.anxiety_level).toMatchObject({ start_value: 8, current_value: 5 });
    expect(report.progress_summary).toContain(
      'anxiety level (self-rated in the first session, read from language in the latest) fell from 8 to 5',
    );
    expect(report.patterns).toContainEqual({
      description:
        'Client rated their own anxiety 8 out of 10 in 1 of 2 sessions; the other sessions are read from language.',
      confidence: 0.6,
    });
  });

  it('traces every measure to the messages it came from', () => {
    const [s1, s2, s3] = traceProgress(rated);
    expect(s1!.measures.anxiety_level).toEqual({
      value: 8,
      source: 'self_rating',
      message_ids: ['m_1b'],
    });
    expect(s2!.measures.anxiety_level).toEqual({
      value: 5,
      source: 'language',
      message_ids: ['s_2#1'],
    });
    expect(s2!.measures.coping_strategy_usage).toEqual({
      value: 1,
      source: 'count',
      message_ids: ['s_2#2'],
    });
    expect(s3!.self_ratings).toEqual([
      expect.objectContaining({ value: 5, from: 8, subject: 'anxiety', message_id: 'm_3b' }),
      expect.objectContaining({ value: 6, subject: 'mood', message_id: 'm_3c' }),
    ]);
    // The trace's values are the report's.
    const report = analyzeProgress(rated);
    expect(s3!.measures.anxiety_level!.value).toBe(report.metrics.anxiety_level!.current_value);
  });

  it('is deterministic, whatever order the sessions arrive in', () => {
    const reversed = { ...rated, sessions: [...rated.sessions].reverse() };
    expect(analyzeProgress(reversed)).toEqual(analyzeProgress(rated));
    expect(traceProgress(reversed)).toEqual(traceProgress(structuredClone(rated)));
  });
});

describe('self-ratings in the session analysis', () => {
  it('adds a key point per rated subject, naming the client message', () => {
    const persona = new PersonaRegistry(loadPersonaDefinitions()).get('dr_morgan_hayes')!;
    const analysis = analyzeSession({
      session_id: 's_rated',
      persona,
      goals: [],
      transcript: [
        { sender_type: 'client', content: 'I feel anxious at work.' },
        { sender_type: 'persona', content: 'How would you rate it, out of 10?' },
        { sender_type: 'client', content: "Maybe a 7. Sleep's been about a 4 out of 10." },
        { sender_type: 'client', content: 'Talking helped, my anxiety went from 7 to 5.' },
      ],
    });
    expect(analysis.key_points).toEqual(
      expect.arrayContaining([
        'Client rated their sleep 4 out of 10 in client message 2',
        'Client rated their anxiety 5 out of 10 (down from 7) in client message 3',
      ]),
    );
    expect(analysis.key_points.filter((k) => k.includes('anxiety'))).toHaveLength(1);
  });
});

describe('a single self-rated session', () => {
  it('names the value as self-rated', () => {
    const report = analyzeProgress({ ...rated, sessions: [rated.sessions[0]!] });
    expect(report.progress_summary).toContain('self-rated anxiety level 8');
    expect(report.metrics.anxiety_level).toMatchObject({ trend: 'stable', current_value: 8 });
  });
});
