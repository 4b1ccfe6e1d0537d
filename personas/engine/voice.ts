/**
 * How each kind of persona speaks in the local engine: the therapeutic move it makes after
 * reflecting the client, and the small style adjustments driven by `communication_style`.
 */
import type { Persona } from '../schema';

export type Approach = 'cbt' | 'behavioral' | 'person_centered' | 'motivational';

export function approachOf(persona: Persona): Approach {
  const spec = persona.specialization.toLowerCase();
  if (spec.includes('motivational')) return 'motivational';
  if (spec.includes('cognitive')) return 'cbt';
  if (persona.type === 'analyst' || spec.includes('behavio')) return 'behavioral';
  return persona.type === 'counselor' ? 'person_centered' : 'cbt';
}

interface Move {
  name: string;
  prompts: readonly string[];
}

export const MOVES: Record<Approach, Move> = {
  cbt: {
    name: 'socratic_question',
    prompts: [
      'When that feeling was strongest, what thought was going through your mind?',
      'What evidence supports that thought, and what evidence does not quite fit it?',
      'If a friend described this situation to you, what would you say to them?',
      'How likely is the outcome you fear, and how would you cope if it did happen?',
    ],
  },
  behavioral: {
    name: 'functional_analysis',
    prompts: [
      'What happened just before you noticed this, and what happened right after?',
      'When this comes up, what do you usually do, and what does that get you in the short term?',
      'How often did this happen over the past week? A rough count is fine.',
      'What is one small, observable step we could reinforce this week, and how would you reward it?',
    ],
  },
  person_centered: {
    name: 'reflection',
    prompts: [
      'What is that like for you?',
      'Take your time. What feels most important about this for you right now?',
      'What do you notice in yourself as you talk about it?',
      'There is no right or wrong answer here. What would you like me to understand about it?',
    ],
  },
  motivational: {
    name: 'evoke_change_talk',
    prompts: [
      'What would you like to be different, and why does that matter to you?',
      'On a scale from 0 to 10, how important is this change to you? What makes it that number and not a lower one?',
      'What have you tried before that helped, even a little?',
      'If things went the way you hope, what would the next few months look like?',
    ],
  },
};

export const VALIDATIONS = [
  'That sounds really hard.',
  'That makes sense, given what you are dealing with.',
  'Thank you for trusting me with that.',
];

const CONTRACTIBLE =
  /\b(I am|[Yy]ou are|[Ww]e are|[Ii]t is|[Tt]hat is|[Ww]hat is|[Tt]here is|[Ll]et us|(I|[Yy]ou|[Ww]e) will|do(es)? not)\b/g;
const SHORT: Record<string, string> = {
  am: "'m",
  are: "'re",
  is: "'s",
  us: "'s",
  will: "'ll",
  not: "n't",
};

/** Informal personas (formality below 0.5) speak with contractions. */
export function styled(persona: Persona, text: string): string {
  if (persona.communication_style.formality >= 0.5) return text;
  return text.replace(CONTRACTIBLE, (m) => {
    const space = m.lastIndexOf(' ');
    return m.slice(0, space) + (SHORT[m.slice(space + 1)] ?? m.slice(space));
  });
}

/** FNV-1a: a stable seed, so the same session and turn always get the same wording. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Consecutive turns step through the list, so a persona never repeats itself back to back. */
export function pick<T>(items: readonly T[], sessionId: string, turn: number): T {
  return items[(fnv1a(sessionId) + turn) % items.length]!;
}
