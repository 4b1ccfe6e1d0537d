/**
 * The reply a persona gives instead of its usual one when the risk screen finds an elevated risk:
 * supportive, honest that it is an AI, and pointing to people who can help now. It is composed
 * here — never by an LLM — so its content is the same whatever engine a persona uses.
 */
import type { Persona } from '../schema';
import type { RiskCategory, RiskLevel } from '../../lib/schemas/safety';
import type { CrisisResource, CrisisSettings } from './resources';
import { pick, styled } from '../engine/voice';

export { DEFAULT_CRISIS_SETTINGS, type CrisisResource, type CrisisSettings } from './resources';

export interface CrisisReplyInput {
  persona: Persona;
  /** The risk screen's verdict: what was heard, and how severe (critical asks for urgency). */
  risk: { level: RiskLevel; categories: RiskCategory[] };
  session_id: string;
  /** Persona turn: with the session id it picks the wording, so consecutive replies differ. */
  turn: number;
}

// Leads vary by turn so a client who says more than once that they are not safe is not met
// with the same sentence twice in a row.
const LEADS: Record<'self' | 'others' | 'abuse', readonly string[]> = {
  self: [
    'I am really concerned by what you have shared, and your safety matters most right now.',
    'What you are describing worries me, and I want to make sure you are safe.',
    'Thank you for telling me this; it takes courage, and your safety comes first right now.',
  ],
  others: [
    'It sounds like things feel very intense right now, and I want everyone, including you, to be safe.',
    'Those feelings sound overwhelming, and keeping you and the people around you safe comes first.',
  ],
  abuse: [
    'No one deserves to be hurt or to feel unsafe, and I am glad you told me.',
    'What you are describing is not okay, and it is not your fault; your safety matters.',
  ],
};

export function crisisReply(input: CrisisReplyInput, settings: CrisisSettings): string {
  const { persona } = input;
  const { categories } = input.risk;
  const critical = input.risk.level === 'critical';
  const first = categories[0];
  const kind = first === 'abuse' ? 'abuse' : first === 'harm_to_others' ? 'others' : 'self';
  const lead = pick(LEADS[kind], input.session_id, input.turn);
  const resources = resourcesFor(categories, settings.crisis_resources)
    .map((r) => `${r.name}${r.region ? ` (${r.region})` : ''}: ${r.contact}`)
    .join('; ');
  const parts = [
    lead,
    `I am an AI persona, not a human ${persona.type}, so I cannot give you crisis support myself.`,
    critical
      ? `If you are in immediate danger, please contact ${settings.emergency_number} now.`
      : `If you are in danger, please contact ${settings.emergency_number}.`,
    resources ? `You can also talk to someone right now: ${resources}.` : '',
    'If you can, reach out to someone you trust who can be with you.',
    'Are you safe right now?',
  ];
  return styled(persona, parts.filter(Boolean).join(' '));
}

/** Resources that serve any of the risks (or all risks), in configured order. */
export function resourcesFor(
  categories: readonly RiskCategory[],
  resources: readonly CrisisResource[],
): CrisisResource[] {
  return resources.filter(
    (r) => !r.for || categories.length === 0 || r.for.some((c) => categories.includes(c)),
  );
}
