/**
 * Word lists the local engine reads client messages with. Exact-token matching (not stems)
 * keeps false hits like "mad" in "made" out; a negator a few words before an emotion in the
 * same clause ("not anxious", "don't feel sad") cancels it.
 */
// Comma-separated so the lists stay readable; a multi-word entry matches consecutive tokens.
const EMOTION_WORDS = {
  anxious: 'anxious, anxiety, nervous, worried, worrying, panic, panicky, scared, afraid, on edge',
  stressed: 'stressed, stress, stressful, under pressure, tense',
  sad: 'sad, depressed, unhappy, miserable, hopeless, crying, feeling down, feel down, feeling low',
  overwhelmed: 'overwhelmed, overwhelming, swamped, too much, drowning',
  angry: 'angry, furious, mad, irritated, resentful',
  frustrated: 'frustrated, frustrating, annoyed, stuck',
  lonely: 'lonely, isolated, alone, left out',
  tired: 'tired, exhausted, drained, worn out, fatigued, burnt out, burned out',
  hopeful: 'hopeful, optimistic, motivated, confident, looking forward',
  better: 'better, calmer, relieved, improving, happier',
};
export type Emotion = keyof typeof EMOTION_WORDS;
export const POSITIVE: ReadonlySet<Emotion> = new Set<Emotion>(['hopeful', 'better']);

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
  (e) => [e, list(EMOTION_WORDS[e])] as const,
);
const TOPIC_LIST = (Object.keys(TOPICS) as Topic[]).map((t) => [t, list(TOPICS[t][1])] as const);

const NEGATORS = new Set(['not', 'no', 'never', 'without', 'hardly', 'nor', 'neither']);
const NEGATION_WINDOW = 3;
const RISK =
  /\b(suicid\w*|kill(ing)? myself|end(ing)? my life|self[- ]?harm\w*|hurt(ing)? myself|want to die|better off dead)\b/;
const ABOUT_ME = /\bare you (a |an )?(real|human|person|bot|robot|ai|machine|computer)\b/;

/** Clauses of lowercased word tokens; a clause break ends a negation's reach. */
function clauses(text: string): string[][] {
  return text
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .split(/[.,;:!?\n]+|\bbut\b/)
    .map((c) => c.match(/[a-z0-9']+/g) ?? [])
    .filter((c) => c.length > 0);
}

// "can't stop worrying" affirms the worry, so a negator before stop/help does not count.
const negates = (tokens: string[], i: number) =>
  (NEGATORS.has(tokens[i]!) || tokens[i]!.endsWith("n't")) &&
  !/^(stop|help)/.test(tokens[i + 1] ?? '');

function findPhrase(tokens: string[], phrase: string): number {
  const words = phrase.split(' ');
  for (let i = 0; i + words.length <= tokens.length; i++) {
    if (words.every((w, j) => tokens[i + j] === w)) return i;
  }
  return -1;
}

export function detectEmotions(text: string): Emotion[] {
  const found = new Set<Emotion>();
  for (const tokens of clauses(text)) {
    // "not anxious anymore" is relief, not anxiety.
    const lapsed = tokens.includes('anymore') || findPhrase(tokens, 'no longer') >= 0;
    for (const [emotion, phrases] of EMOTION_LIST) {
      for (const phrase of phrases) {
        const at = findPhrase(tokens, phrase);
        if (at < 0) continue;
        let negated = false;
        for (let i = Math.max(0, at - NEGATION_WINDOW); i < at; i++) negated ||= negates(tokens, i);
        if (!negated) found.add(emotion);
        else if (lapsed && !POSITIVE.has(emotion)) found.add('better');
        break;
      }
    }
  }
  return [...found];
}

export function detectTopics(text: string): Topic[] {
  const tokens = new Set(clauses(text).flat());
  return TOPIC_LIST.filter(([, words]) => words.some((w) => tokens.has(w))).map(([topic]) => topic);
}

export const mentionsRisk = (text: string) => RISK.test(text.toLowerCase());
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
  (s) => [s, list(COPING[s][1])] as const,
);

/** The coping techniques a message says were used; "didn't try breathing" does not count. */
export function detectCoping(text: string): CopingStrategy[] {
  const found = new Set<CopingStrategy>();
  for (const tokens of clauses(text)) {
    for (const [strategy, phrases] of COPING_LIST) {
      for (const phrase of phrases) {
        const at = findPhrase(tokens, phrase);
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
