/**
 * Word lists the local engine reads client messages with. Exact-token matching (not stems)
 * keeps false hits like "mad" in "made" out; a negator a few words before an emotion in the
 * same clause ("not anxious", "don't feel sad") cancels it.
 */
/*
 * Clinical lexicon: each feeling in three tiers of intensity (mild, moderate, severe), written
 * for this project after the item wording of screening scales (GAD-7 worry and restlessness,
 * PHQ-9 low mood, anhedonia, fatigue and self-blame, PSS-style overload). A general sentiment
 * lexicon reads "I feel anxious and overwhelmed at work" as nearly neutral; these lists read it
 * as clear distress. Comma-separated so the lists stay readable; a multi-word entry matches
 * consecutive tokens.
 */
import { assessRisk } from '../safety/risk';
import { atLeast } from '../../lib/schemas/safety';
const EMOTION_WORDS = {
  anxious: [
    'uneasy, nervous, jittery, apprehensive, edgy, unsettled, butterflies',
    "anxious, anxiety, worried, worrying, worry, worries, scared, afraid, fearful, on edge, restless, keyed up, dread, dreading, can't relax, cannot relax, can't stop worrying, cannot stop worrying, can't switch off, mind racing, racing thoughts",
    'panic, panicking, panicky, panicked, terrified, petrified, something awful will happen, something terrible will happen',
  ],
  stressed: [
    'pressured, stretched thin',
    'stressed, stress, stressful, under pressure, tense, strained, frazzled, snowed under, piling up',
    "breaking point, can't cope, cannot cope, falling apart, burning out",
  ],
  sad: [
    'unhappy, feeling down, feel down, felt down, feeling low, feel low, felt low, feeling flat, gloomy',
    "sad, depressed, depression, so low, really low, very low, pretty low, quite low, miserable, crying, cried, tearful, numb, lost interest, no interest, no motivation, can't enjoy, cannot enjoy, no pleasure, heartbroken, grieving",
    "hopeless, despair, desperate, devastated, can't go on, cannot go on, no way out",
  ],
  overwhelmed: [
    'a lot on my plate, hard to keep up',
    "overwhelmed, overwhelming, swamped, too much, drowning, out of my depth, can't keep up, cannot keep up, can't think straight",
    'completely overwhelmed, totally overwhelmed',
  ],
  angry: [
    'irritated, irritable, cross, grumpy, on a short fuse',
    'angry, mad, resentful, bitter, fuming',
    'furious, livid, enraged, rage, seething',
  ],
  frustrated: ['annoyed, frustrating', 'frustrated, stuck', 'sick of it, wits end'],
  lonely: [
    'left out, alone',
    'lonely, isolated, disconnected, no one to talk to, nobody to talk to',
    'completely alone, nobody cares, no one cares',
  ],
  tired: [
    'tired, sleepy, low energy, sluggish',
    "exhausted, drained, worn out, fatigued, no energy, can't sleep, cannot sleep",
    'burnt out, burned out, running on empty, wiped out',
  ],
  ashamed: [
    'embarrassed, self conscious',
    'ashamed, guilty, guilt, useless, a failure, let everyone down, let them down, not good enough',
    'worthless, hate myself, disgusted with myself',
  ],
  hopeful: [
    'hopeful, optimistic, encouraged',
    'motivated, confident, looking forward, excited, proud',
    'really hopeful',
  ],
  better: ['better, calmer, relieved, lighter, okay again', 'improving, happier, relaxed', 'great'],
};
export type Emotion = keyof typeof EMOTION_WORDS;
export const POSITIVE: ReadonlySet<Emotion> = new Set<Emotion>(['hopeful', 'better']);
/** How strongly a word of each tier says the feeling, before intensifiers. */
const TIER_WEIGHT = [0.35, 0.6, 0.85] as const;
/** Words just before a feeling that strengthen or soften it ("really anxious", "a bit low"). */
const INTENSIFIERS = new Set(
  'really, so, very, extremely, incredibly, totally, completely, utterly, terribly, awfully, constantly, super, absolutely, seriously, deeply, too'.split(
    ', ',
  ),
);
const SOFTENERS = new Set(
  'bit, little, slightly, somewhat, mildly, kind, sort, kinda, fairly'.split(', '),
);
/** A phrase split into words once, here, rather than on every search. */
interface Phrase {
  text: string;
  words: readonly string[];
}
const phrase = (text: string): Phrase => ({ text, words: text.split(' ') });

/** Said anywhere in the clause, these make a feeling persistent, as the scales ask ("nearly every day"). */
const PERSISTENT = [
  'all the time',
  'every day',
  'every night',
  'constantly',
  'nonstop',
  'always',
].map((p) => phrase(p));
const NO_LONGER = phrase('no longer');

/** Each topic with how it reads after "feeling X …" and the words that raise it. */
const TOPICS = {
  work: [
    'at work',
    'work, job, boss, manager, deadline, deadlines, colleague, colleagues, office, meeting, meetings, career, project',
  ],
  study: [
    'about your studies',
    'school, exam, exams, study, studying, class, university, college, homework',
  ],
  family: [
    'with your family',
    'family, mother, mom, mum, father, dad, parents, kids, children, son, daughter, sister, brother',
  ],
  relationship: [
    'in your relationship',
    'partner, wife, husband, boyfriend, girlfriend, relationship, marriage, divorce',
  ],
  friends: ['around other people', 'friend, friends, party, parties, social, people, group'],
  sleep: ['about your sleep', 'sleep, sleeping, insomnia, awake, nightmares'],
  health: ['about your health', 'health, pain, doctor, illness, sick, diagnosis'],
  money: ['about money', 'money, debt, bills, rent, finances, afford'],
} as const;
export type Topic = keyof typeof TOPICS;
export const topicPhrase = (topic: Topic): string => TOPICS[topic][0];

const list = (words: string) => words.split(', ');
const EMOTION_LIST = (Object.keys(EMOTION_WORDS) as Emotion[]).map(
  (e) =>
    [
      e,
      EMOTION_WORDS[e].flatMap((tier, i) => list(tier).map((p) => [phrase(p), i] as const)),
    ] as const,
);
const TOPIC_LIST = (Object.keys(TOPICS) as Topic[]).map((t) => [t, list(TOPICS[t][1])] as const);

const NEGATORS = new Set(['not', 'no', 'never', 'without', 'hardly', 'nor', 'neither']);
const NEGATION_WINDOW = 3;
const ABOUT_ME =
  /\b(are you (really |actually )?(a |an )?(real|human|person|bot|robot|ai|machine|computer)|(am i|is this) (talking|speaking|chatting) (to|with) (a |an )?(real|human|person|bot|robot|ai|machine|computer)|is this (a |an )?(real person|human|bot|robot|ai))\b/;

/**
 * A clause's lowercased word tokens, with the set of them: a phrase whose first word is not in
 * the set is passed over without a scan (the lexicons hold hundreds of phrases; a message has a
 * few dozen words).
 */
interface Clause {
  tokens: string[];
  words: Set<string>;
}

/** Clauses of lowercased word tokens; a clause break ends a negation's reach. */
function clauses(text: string): Clause[] {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .split(/[.,;:!?\n]+|\bbut\b/)
    .map((c) => c.match(/[a-z0-9']+/g) ?? [])
    .filter((c) => c.length > 0)
    .map((tokens) => ({ tokens, words: new Set(tokens) }));
}

// "can't stop worrying" affirms the worry, so a negator before stop/help does not count.
const negates = (tokens: string[], i: number) =>
  (NEGATORS.has(tokens[i]!) || tokens[i]!.endsWith("n't")) &&
  !/^(stop|help)/.test(tokens[i + 1] ?? '');

/** Where the phrase first starts in the clause, or -1. */
function findPhrase({ tokens, words: present }: Clause, { words }: Phrase): number {
  if (!present.has(words[0]!)) return -1;
  for (let i = 0; i + words.length <= tokens.length; i++) {
    if (words.every((w, j) => tokens[i + j] === w)) return i;
  }
  return -1;
}

/** A feeling read from a message: how strongly it is said (0–1) and the words that said it. */
export interface EmotionReading {
  emotion: Emotion;
  intensity: number;
  /** The client's words for it, as lowercased tokens ("really anxious"). */
  words: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;

/**
 * The feelings a message expresses, in the order first said, each with its strongest intensity:
 * the tier of the word, raised by an intensifier just before it ("really", "so") or by saying it
 * persists ("all the time"), lowered by a softener ("a bit"). A negator a few words before cancels
 * it; "not anxious anymore" reads as feeling better.
 */
export function readEmotions(text: string): EmotionReading[] {
  const found = new Map<Emotion, EmotionReading>();
  const add = (reading: EmotionReading) => {
    const had = found.get(reading.emotion);
    if (!had || reading.intensity > had.intensity) found.set(reading.emotion, reading);
  };
  for (const clause of clauses(text)) {
    const { tokens } = clause;
    const lapsed = clause.words.has('anymore') || findPhrase(clause, NO_LONGER) >= 0;
    const persistent = PERSISTENT.some((p) => findPhrase(clause, p) >= 0);
    for (const [emotion, phrases] of EMOTION_LIST) {
      let best: EmotionReading | undefined;
      let denied = false;
      for (const [p, tier] of phrases) {
        const at = findPhrase(clause, p);
        const phrase = p.text;
        if (at < 0) continue;
        let negated = false;
        for (let i = Math.max(0, at - NEGATION_WINDOW); i < at; i++) negated ||= negates(tokens, i);
        if (negated) {
          denied = true;
          continue;
        }
        const before = tokens.slice(Math.max(0, at - 2), at);
        let intensity: number = TIER_WEIGHT[tier]!;
        const strong = before.find((w) => INTENSIFIERS.has(w));
        if (strong) intensity += 0.15;
        if (before.some((w) => SOFTENERS.has(w))) intensity -= 0.2;
        if (persistent && !POSITIVE.has(emotion)) intensity += 0.1;
        const reading = {
          emotion,
          intensity: round2(Math.min(1, Math.max(0.1, intensity))),
          words: strong ? `${strong} ${phrase}` : phrase,
        };
        if (!best || reading.intensity > best.intensity) best = reading;
      }
      if (best) add(best);
      else if (denied && lapsed && !POSITIVE.has(emotion))
        add({ emotion: 'better', intensity: 0.5, words: tokens.join(' ') });
    }
  }
  return [...found.values()];
}

export function detectEmotions(text: string): Emotion[] {
  return readEmotions(text).map((r) => r.emotion);
}

/**
 * How distressed a message reads, 0–1: the difficult feelings combined (each one adds to what
 * the others leave), so two moderate feelings read as more distress than either alone. Relief
 * is the same over the positive feelings.
 */
export function distressOf(readings: readonly EmotionReading[]): {
  distress: number;
  relief: number;
} {
  const combine = (xs: number[]) => round2(1 - xs.reduce((left, x) => left * (1 - x), 1));
  return {
    distress: combine(readings.filter((r) => !POSITIVE.has(r.emotion)).map((r) => r.intensity)),
    relief: combine(readings.filter((r) => POSITIVE.has(r.emotion)).map((r) => r.intensity)),
  };
}

export function detectTopics(text: string): Topic[] {
  const tokens = new Set(clauses(text).flatMap((c) => c.tokens));
  return TOPIC_LIST.filter(([, words]) => words.some((w) => tokens.has(w))).map(([topic]) => topic);
}

/**
 * Whether a message suggests a risk of suicide or self-harm, past or present (what analyses and
 * progress reports flag for professional review). The words are read by the risk screen, so the
 * engine, the analyses and the runtime's alerts agree on what counts.
 */
export function mentionsRisk(text: string): boolean {
  return assessRisk(text).signals.some(
    (s) => (s.category === 'suicide' || s.category === 'self_harm') && atLeast(s.level, 'medium'),
  );
}
export const asksAboutIdentity = (text: string) => ABOUT_ME.test(text.toLowerCase());

export function joinList(items: readonly string[]): string {
  if (items.length <= 2) return items.join(' and ');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** Goals arrive as free text ("Reduce anxiety at work."); fit them mid-sentence. */
export function goalPhrase(goal: string): string {
  const g = goal.trim().replace(/[.!?]+$/, '');
  return /^[A-Z][a-z]/.test(g) ? g[0]!.toLowerCase() + g.slice(1) : g;
}

const GOAL_VERBS = new Set(
  'reduce improve manage build increase decrease learn practise practice develop find get set stop start sleep feel cope understand explore identify make take create work plan address overcome handle lower boost strengthen establish prepare talk reconnect return exercise eat challenge spend keep'.split(
    ' ',
  ),
);
function gerund(verb: string): string {
  if (verb.endsWith('ie')) return `${verb.slice(0, -2)}ying`;
  if (/[^aeiou]e$/.test(verb)) return `${verb.slice(0, -1)}ing`;
  if (/^[^aeiou]*[aeiou][^aeiouwxy]$/.test(verb)) return `${verb}${verb.at(-1)}ing`;
  return `${verb}ing`;
}

/** A goal as an aim to name in a sentence: "Reduce anxiety at work" → "reducing anxiety at work". */
export function goalAim(goal: string): string {
  const phrase = goalPhrase(goal);
  const [first = '', ...rest] = phrase.split(' ');
  return GOAL_VERBS.has(first) ? [gerund(first), ...rest].join(' ') : phrase;
}

const STOP_WORDS = new Set(
  'about after again also being better between could doing during feel feeling from have into just know less like more most much over really some than that them then there these they thing things this those through want what when where which while with would your'.split(
    ' ',
  ),
);
const stems = (text: string) =>
  new Set(
    (text.toLowerCase().match(/[a-z]+/g) ?? [])
      .filter((w) => w.length >= 4 && !STOP_WORDS.has(w))
      .map((w) => w.slice(0, 5)),
  );

/**
 * How closely a client message touches a goal: shared difficult feelings and parts of life count
 * most ("anxious about my boss" and "Reduce anxiety at work"), then shared word stems.
 */
export function goalOverlap(goal: string, text: string): number {
  const feelings = new Set(detectEmotions(goal).filter((e) => !POSITIVE.has(e)));
  const topics = new Set(detectTopics(goal));
  const words = stems(goal);
  let score = 0;
  for (const e of detectEmotions(text)) if (feelings.has(e)) score += 2;
  for (const t of detectTopics(text)) if (topics.has(t)) score += 2;
  for (const w of stems(text)) if (words.has(w)) score += 1;
  return score;
}

/** Coping techniques a client may report using, each with how a report names it. */
const COPING = {
  breathing: [
    'breathing exercises',
    'breathing, breathe, breathed, deep breath, deep breaths, breathing exercise',
  ],
  mindfulness: [
    'mindfulness',
    'mindfulness, mindful, meditation, meditate, meditated, meditating, grounding',
  ],
  physical: [
    'physical activity',
    'exercised, workout, worked out, gym, yoga, jogging, jogged, swimming, went for a walk, went for a run, went running',
  ],
  journaling: [
    'journaling',
    'journal, journaling, journalling, journaled, diary, wrote down, wrote it down, writing down',
  ],
  reframing: [
    'reframing thoughts',
    'reframe, reframed, reframing, thought record, thought records, challenged the thought, challenged my thoughts, challenge my thoughts',
  ],
  relaxation: [
    'relaxation',
    'relaxation, muscle relaxation, relaxed my muscles, stretching, stretched, visualisation, visualization',
  ],
  reaching_out: [
    'reaching out to others',
    'reached out, reaching out, asked for help, talked to a friend, called a friend, talked to someone',
  ],
  planning: [
    'planning in small steps',
    'to do list, made a plan, broke it down, broke it into, small steps, one step at a time, prioritised, prioritized',
  ],
  self_care: ['self-care', 'self care, took a break, took breaks, sleep routine'],
  /** A technique named only in general ("I used the technique"); counted when nothing more specific is. */
  general: ['coping techniques', 'coping, technique, techniques, exercises'],
} as const;
export type CopingStrategy = keyof typeof COPING;
export const copingPhrase = (strategy: CopingStrategy): string => COPING[strategy][0];
const COPING_LIST = (Object.keys(COPING) as CopingStrategy[]).map(
  (s) => [s, list(COPING[s][1]).map((p) => phrase(p))] as const,
);

/** The coping techniques a message says were used; "didn't try breathing" does not count. */
export function detectCoping(text: string): CopingStrategy[] {
  const found = new Set<CopingStrategy>();
  for (const clause of clauses(text)) {
    const { tokens } = clause;
    for (const [strategy, phrases] of COPING_LIST) {
      for (const p of phrases) {
        const at = findPhrase(clause, p);
        if (at < 0) continue;
        let negated = false;
        for (let i = Math.max(0, at - NEGATION_WINDOW); i < at; i++) negated ||= negates(tokens, i);
        if (!negated) found.add(strategy);
        break;
      }
    }
  }
  if (found.size > 1) found.delete('general');
  return [...found];
}

// ---- self-ratings ----

/**
 * What a client's 0–10 self-rating is about. `mood` and `sleep` and `energy` run high = good;
 * the others high = bad.
 */
export type RatingSubject =
  | 'anxiety'
  | 'stress'
  | 'mood'
  | 'sadness'
  | 'sleep'
  | 'energy'
  | 'tiredness'
  | 'pain'
  | 'anger'
  | 'unknown';

export interface SelfRating {
  /** On a 0–10 scale (other scales are normalised), at most one decimal. */
  value: number;
  subject: RatingSubject;
  /** "went from 8 to 5": the earlier value, the rating itself being the latest. */
  from?: number;
  /** Said of an earlier time ("last week it was an 8"), not of now. */
  past?: boolean;
  /** The words the rating was read from, as written. */
  text: string;
}

const SUBJECT_WORDS: [RatingSubject, RegExp][] = [
  ['anxiety', /\b(anxiety|anxious|nervous(ness)?|worr(y|ied|ying|ies)|panic\w*|fear|scared)\b/g],
  ['stress', /\b(stress(ed|ful)?|overwhelm(ed|ing)?|pressure|tension|tense)\b/g],
  ['sadness', /\b(depression|depressed|sad(ness)?|hopeless(ness)?|misery|miserable)\b/g],
  ['mood', /\b(mood|happiness|happy|wellbeing|well-being|spirits)\b/g],
  ['sleep', /\b(sleep(ing)?|slept|insomnia)\b/g],
  ['energy', /\b(energy|energetic)\b/g],
  ['tiredness', /\b(tired(ness)?|fatigue|fatigued|exhausted|exhaustion)\b/g],
  ['pain', /\b(pain|aches?|aching)\b/g],
  ['anger', /\b(anger|angry|irritat\w+|frustrat\w+|furious)\b/g],
];
const EMOTION_SUBJECT: Record<Emotion, RatingSubject> = {
  anxious: 'anxiety',
  stressed: 'stress',
  overwhelmed: 'stress',
  sad: 'sadness',
  lonely: 'sadness',
  angry: 'anger',
  frustrated: 'anger',
  tired: 'tiredness',
  ashamed: 'sadness',
  hopeful: 'mood',
  better: 'mood',
};

const NUMBER_WORDS = 'zero one two three four five six seven eight nine ten'.split(' ');
const N = String.raw`(\d{1,3}(?:\.\d)?)`;
const SCALE = String.raw`(10|100|5)`;
const ART = String.raw`(?:an?\s+)?`;
/** What may follow a bare rating; anything else ("3 meetings", "10 minutes", "7 pm") is a count. */
const AFTER_RATING =
  /^(?!\s+and a half\b)(?:\s*$|\s*[,)\-–—(]|-?ish\b|\s+(?:today|tonight|now|right now|at the moment|at most|at best|these days|this week|all week|all day|all the time|most of the time|lately|recently|or so|maybe|probably|perhaps|i think|i'd say|i guess|tops|max|at least|and|but|or|then|though|yesterday|last \w+|most days|overall|honestly|really|again|still|already|which|so|for me|for now|on a good day|on a bad day|on bad days|on good days|when|since|out of|on a scale|if)\b)/;
const PAST_MARKER =
  /\b(last (week|time|session|month|night)|yesterday|used to|before|earlier|at (the start|first)|previously|back then|ago)\b/;
const DATE_BEFORE = /\b(on|since|until|till|by|before|after|dated|due)\s*$/;
const BELOW_BEFORE = /\b(not even|less than|lower than|under|below|barely|hardly)\s+(an?\s+)?$/;
const NEGATED_BEFORE = /(\b(not|never|no)|n't)\s+(\w+\s+)?(an?\s+)?$/;
const CONTEXT =
  /\b(rate|rated|rating|scale|out of|went|gone|go|dropped|drop|fell|fallen|come down|came down|rose|risen|climbed|jumped|moved|improved|down|up)\b/;

interface RawRating {
  start: number;
  end: number;
  value: number;
  scale: number;
  from?: number;
  fromScale?: number;
}

const SUBJECT_NAMES = SUBJECT_WORDS.map(([, re]) => re.source.slice(2, -2))
  .join('|')
  .replace(/\((?!\?)/g, '(?:');
/** A rating out of 10 whose number ends the match ("my anxiety is about 6", "a solid 8"). */
const numberAtEnd = (m: RegExpExecArray): RawRating => ({
  start: m.index + m[0].length - m[1]!.length,
  end: m.index + m[0].length,
  value: Number(m[1]),
  scale: 10,
});

const PATTERNS: { re: RegExp; read: (m: RegExpExecArray) => RawRating | undefined }[] = [
  // "a 6 or 7", "about a 6-7": the middle of the range
  {
    re: new RegExp(String.raw`\ban?\s+${N}\s*(?:-|–|or)\s*(?:an?\s+)?${N}\b(?![:\d%])`, 'g'),
    read: (m) => ({
      start: m.index + m[0].indexOf(m[1]!),
      end: m.index + m[0].length,
      value: (Number(m[1]) + Number(m[2])) / 2,
      scale: 10,
    }),
  },
  // "it went from 8 to 5", "from an 8/10 down to a 5"
  {
    re: new RegExp(
      String.raw`\bfrom\s+${ART}${N}(?:\s*(?:\/|out of)\s*${SCALE})?\s+(?:(?:down|up|right down)\s+)?to\s+${ART}${N}(?:\s*(?:\/|out of)\s*${SCALE})?`,
      'g',
    ),
    read: (m) => ({
      start: m.index,
      end: m.index + m[0].length,
      from: Number(m[1]),
      fromScale: Number(m[2] ?? m[4] ?? 10),
      value: Number(m[3]),
      scale: Number(m[4] ?? m[2] ?? 10),
    }),
  },
  // "7 out of 10", "7/10", "70 out of 100", "7 on a scale of 1 to 10"
  {
    re: new RegExp(
      String.raw`(?<![\d/:.])${N}\s*(?:\/|out of|outta|on (?:a|the) scale (?:of|from) (?:(?:0|1)\s+(?:to|-)\s+)?)\s*${SCALE}\b(?![\d/:])`,
      'g',
    ),
    read: (m) => ({
      start: m.index,
      end: m.index + m[0].length,
      value: Number(m[1]),
      scale: Number(m[2]),
    }),
  },
  // "my anxiety is 6", "stress levels are at about 4"
  {
    re: new RegExp(
      String.raw`\b(?:${SUBJECT_NAMES})(?:\s+levels?)?\s*(?:is|was|are|were|'s|has been|have been|feels like|felt like|sits at|is at|was at|at)\s+(?:(?:about|around|maybe|like|probably|roughly|only|still|now|at|sitting at|a|an)\s+){0,3}${N}\b(?![:\d%])`,
      'g',
    ),
    read: numberAtEnd,
  },
  // "I'd rate it 4", "I'd say 7", "I'd give it 6"
  {
    re: new RegExp(
      String.raw`\b(?:rate|rated|rating|say|give|gave|put|score|scored)\s+(?:(?:it|that|this|myself|me|my \w+|at|as|about|around|maybe|a|an)\s+){0,3}${N}\b(?![:\d%])`,
      'g',
    ),
    read: numberAtEnd,
  },
  // "about a 7", "it's an 8"
  {
    re: new RegExp(
      String.raw`\ban?\s+(?:(?:solid|strong|firm|good|high|low|clear|definite)\s+)?${N}\b(?![:\d%])`,
      'g',
    ),
    read: numberAtEnd,
  },
];
// "on a scale of 1 to 10 it's an 8", "out of 10, I'd say a 7"
const SCALE_FIRST = new RegExp(
  String.raw`(?:\bon (?:a|the) scale (?:of|from) (?:(?:0|1)\s+(?:to|-)\s+)?|(?<!\d\s*)\bout of\s+)${SCALE}\b[^\d]{0,30}?(?<![\d/:.])${N}\b(?![:\d%/])`,
  'g',
);

const round1 = (n: number) => Math.round(n * 10) / 10;

/** The subject named nearest before a rating ("my anxiety is a 7"), else nearest after it. */
function nearestSubject(sentence: string, at: number): RatingSubject | undefined {
  let before: [RatingSubject, number] | undefined;
  let after: [RatingSubject, number] | undefined;
  for (const [subject, re] of SUBJECT_WORDS) {
    for (const m of sentence.matchAll(re)) {
      if (m.index < at) {
        if (!before || m.index > before[1]) before = [subject, m.index];
      } else if (!after || m.index < after[1]) after = [subject, m.index];
    }
  }
  return (before ?? after)?.[0];
}

/** The feeling a message expresses most (ties: first named), as a rating subject. */
function dominantSubject(text: string): RatingSubject {
  const counts = new Map<Emotion, number>();
  for (const part of text.split(/[.;!?\n]+/)) {
    for (const e of detectEmotions(part)) counts.set(e, (counts.get(e) ?? 0) + 1);
  }
  const top = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
  return top ? EMOTION_SUBJECT[top[0]] : 'unknown';
}

/**
 * The 0–10 self-ratings in a client message, in the order written: "about a 7 out of 10",
 * "my anxiety is 6/10", "I'd rate it a 4", "on a scale of 1 to 10 it's an 8", "it went from
 * 8 to 5" (5, from 8). Numbers that count or date things ("3 meetings", "10 minutes", "at 7pm",
 * "3/10/2024", "I'm 34") are not ratings; "out of 100" and "out of 5" are rescaled to 10; a
 * negated rating ("it's not a 7, more like a 4") is dropped and "not even a 2" reads as 1.
 */
export function extractSelfRatings(message: string): SelfRating[] {
  const original = message.replace(/[’‘]/g, "'");
  // Same length as the original, so positions map back to what the client wrote.
  const text = original
    .toLowerCase()
    .replace(/\b(zero|one|two|three|four|five|six|seven|eight|nine|ten)\b/g, (w) =>
      String(NUMBER_WORDS.indexOf(w)).padEnd(w.length, ' '),
    );
  const fallback = dominantSubject(original);
  const ratings: SelfRating[] = [];
  const sentenceRe = /[^.!?;\n]+(?:\.\d[^.!?;\n]*)*/g;
  for (const s of text.matchAll(sentenceRe)) {
    const sentence = s[0];
    const raw: RawRating[] = [];
    const overlaps = (r: RawRating) => raw.some((o) => r.start < o.end && o.start < r.end);
    for (const { re, read } of PATTERNS) {
      for (const m of sentence.matchAll(re)) {
        const r = read(m);
        if (r && !overlaps(r)) raw.push(r);
      }
    }
    for (const m of sentence.matchAll(SCALE_FIRST)) {
      const end = m.index + m[0].length;
      const r = { start: end - m[2]!.length, end, value: Number(m[2]), scale: Number(m[1]) };
      if (!overlaps(r)) raw.push(r);
    }
    raw.sort((a, b) => a.start - b.start);
    for (const r of raw) {
      const before = sentence.slice(0, r.start).replace(/\s+/g, ' ');
      const after = sentence.slice(r.end);
      const explicitScale = /\/|out of|outta|scale/.test(sentence.slice(r.start, r.end));
      // A bare number needs to end its phrase: "a 7 today", not "a 10 minute walk".
      if (!explicitScale && !AFTER_RATING.test(after)) continue;
      if (/\//.test(sentence.slice(r.start, r.end)) && DATE_BEFORE.test(before)) continue;
      if (r.from !== undefined && !explicitScale && !CONTEXT.test(sentence)) {
        if (!nearestSubject(sentence, r.start)) continue;
      }
      if (r.value > r.scale || (r.from !== undefined && r.from > (r.fromScale ?? r.scale))) {
        continue;
      }
      let value = (r.value * 10) / r.scale;
      if (BELOW_BEFORE.test(before)) value = Math.max(0, value - 1);
      else if (NEGATED_BEFORE.test(before) && !/\bno more than\s+(an?\s+)?$/.test(before)) {
        continue;
      }
      const clause =
        sentence
          .slice(0, r.end)
          .split(/,|\bbut\b/)
          .at(-1) ?? '';
      const rating: SelfRating = {
        value: round1(value),
        subject: nearestSubject(sentence, r.start) ?? fallback,
        // Out to the end of a word, so a rating written "seven" reads back as "seven".
        text: original
          .slice(
            s.index + r.start,
            s.index + r.end + (/^\w*/.exec(original.slice(s.index + r.end))?.[0].length ?? 0),
          )
          .trim(),
      };
      if (r.from !== undefined) rating.from = round1((r.from * 10) / (r.fromScale ?? r.scale));
      if (PAST_MARKER.test(clause) || PAST_MARKER.test(after.split(/,|\bbut\b/)[0] ?? '')) {
        rating.past = true;
      }
      ratings.push(rating);
    }
  }
  return ratings;
}

/** The rating a message gives for now: the last one not said of an earlier time. */
export function currentRating<R extends SelfRating>(ratings: readonly R[]): R | undefined {
  return ratings.findLast((r) => !r.past) ?? ratings.at(-1);
}
