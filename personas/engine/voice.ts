/**
 * How a persona speaks in the local engine: its approach, the style adjustments driven by
 * `communication_style` (formality → register, complexity → vocabulary), and the rotation that
 * picks wording by session and turn so that a session never hears the same sentence twice.
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

const CONTRACTIBLE =
  /\b(I am|I would|[Yy]ou are|[Ww]e are|[Ii]t is|[Tt]hat is|[Ww]hat is|[Tt]here is|[Ll]et us|(I|[Yy]ou|[Ww]e) will|do(es)? not)\b/g;
const SHORT: Record<string, string> = {
  am: "'m",
  are: "'re",
  is: "'s",
  us: "'s",
  will: "'ll",
  would: "'d",
  not: "n't",
};

// Register: an informal persona speaks casually, a formal one avoids casual words.
const INFORMAL: [RegExp, string][] = [
  [/\bHello\b/g, 'Hi'],
  [/\bThank you\b/g, 'Thanks'],
  [/\bthank you\b/g, 'thanks'],
  [/\bperhaps\b/g, 'maybe'],
  [/\bPerhaps\b/g, 'Maybe'],
  [/\bsomewhat\b/g, 'a bit'],
  [/\bcannot\b/g, "can't"],
  [/\bwould you be willing to\b/g, 'could you'],
  [/\bWould you be willing to\b/g, 'Could you'],
];
const FORMAL: [RegExp, string][] = [
  [/\bmaybe\b/g, 'perhaps'],
  [/\bMaybe\b/g, 'Perhaps'],
  [/\ba bit\b/g, 'somewhat'],
  [/\bokay\b/g, 'all right'],
  [/\bkind of\b/g, 'rather'],
  [/\bstuff\b/g, 'things'],
  [/\bHi\b/g, 'Hello'],
];
// Vocabulary: a persona with low complexity says it in everyday words.
const PLAIN: [RegExp, string][] = [
  [/\bconsider\b/g, 'think about'],
  [/\bidentify\b/g, 'spot'],
  [/\bparticularly\b/g, 'really'],
  [/\bapproximately\b/g, 'about'],
  [/\bdifficult\b/g, 'hard'],
  [/\bcircumstances\b/g, 'things'],
  [/\bsignificant\b/g, 'big'],
  [/\bnevertheless\b/g, 'still'],
];

const swap = (text: string, pairs: [RegExp, string][]) =>
  pairs.reduce((t, [re, to]) => t.replace(re, to), text);

/**
 * A sentence in the persona's register and vocabulary: formality below 0.5 speaks with
 * contractions and casual words, 0.65 and above avoids casual words; complexity below 0.45 uses
 * everyday words (sentence length is chosen where the reply is composed).
 */
export function styled(persona: Persona, text: string): string {
  const { formality, complexity } = persona.communication_style;
  let out = text;
  if (complexity < 0.45) out = swap(out, PLAIN);
  if (formality >= 0.65) out = swap(out, FORMAL);
  if (formality >= 0.5) return out;
  out = swap(out, INFORMAL);
  return out.replace(CONTRACTIBLE, (m) => {
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

/**
 * Sentences made of a head and a tail that step together with the turn. With coprime lengths the
 * pair (head, tail) comes back only after heads × tails turns (Chinese remainder theorem), so a
 * pool of 5 heads and 7 tails gives 35 turns without the same sentence twice, whatever else the
 * reply holds.
 */
export interface Pool {
  heads: readonly string[];
  tails: readonly string[];
}

/** The pool's sentence for this session and turn, with `{name}` placeholders filled in. */
export function rotate(
  pool: Pool,
  sessionId: string,
  turn: number,
  fill: Record<string, string> = {},
): string {
  const seed = fnv1a(sessionId);
  const text =
    pool.heads[(seed + turn) % pool.heads.length]! + pool.tails[(seed + turn) % pool.tails.length]!;
  const filled = text.replace(/\{(\w+)\}/g, (_, name: string) => fill[name] ?? '');
  return filled[0]!.toUpperCase() + filled.slice(1);
}

/** Turns a pool gives without repeating a sentence. */
export const poolPeriod = (pool: Pool) => pool.heads.length * pool.tails.length;
