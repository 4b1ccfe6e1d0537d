/**
 * The risk screen every client message passes before the persona answers: self-harm, suicide,
 * harm to others and abuse, each scored on the alert scale (low … critical). It is deliberately
 * conservative — a facilitator reviewing a false alarm costs little, a missed one a great deal —
 * but a plain denial in the same clause ("I would never hurt myself", "he has never hit me")
 * cancels a phrase, while a hedge ("I don't know if I want to die") does not.
 *
 * Patterns, not a model: the screen must run offline, the same way on every replay, in
 * microseconds, and each flag must name the words that raised it so a facilitator can see why.
 */

import {
  higher,
  RISK_LEVELS,
  type AlertSeverity,
  type RiskCategory,
  type RiskLevel,
} from '../../lib/schemas/safety';

export interface RiskSignal {
  category: RiskCategory | 'distress';
  level: AlertSeverity;
  /** The words that raised it, as written (lowercased). */
  phrase: string;
}

export interface RiskAssessment {
  level: RiskLevel;
  /** The categories at the assessment's level or above `low`, most severe first. */
  categories: RiskCategory[];
  signals: RiskSignal[];
}

interface Rule {
  category: RiskSignal['category'];
  level: AlertSeverity;
  pattern: RegExp;
  /** Said with a negation these are the risk ("I don't see the point in living"): no denial check. */
  negativeForm?: boolean;
}

const OTHERS =
  '(him|her|them|someone|somebody|anyone|people|everyone|my (?:boss|partner|husband|wife|boyfriend|girlfriend|dad|father|mum|mom|mother|brother|sister|son|daughter|kids?|child|children|neighbou?r|colleague|coworker|manager|ex))';
const ABUSER =
  '(he|she|they|my (?:partner|husband|wife|boyfriend|girlfriend|dad|father|mum|mom|mother|stepdad|stepfather|stepmum|stepmom|stepmother|parents?|brother|sister|ex|boss|carer|caregiver))';

const RULES: Rule[] = [
  // Suicide: ideation is high; intent, a plan, means or a time make it critical (below).
  {
    category: 'suicide',
    level: 'high',
    pattern:
      /\b(suicid\w*|kill(ing)? myself|end(ing)? (my life|it all)|take my (own )?life|want(ed)? to die|wish i (was|were) dead|better off dead|better off without me|(go to sleep|fall asleep) and (not|never) wake up)\b/g,
  },
  {
    category: 'suicide',
    level: 'high',
    negativeForm: true,
    pattern:
      /\b(no|not|don't|do not|can't|cannot|didn't|never) (\w+ ){0,2}(point|reason) (in|to|of) (living|live|going on|being alive|life)\b|\b(don't|do not|no longer) (\w+ )?(want|wish) to (live|be alive|be here|wake up|exist)\b|\bnothing (left )?to live for\b/g,
  },
  {
    category: 'self_harm',
    level: 'high',
    pattern:
      /\b(self[- ]?harm\w*|(hurt|hurting|harm|harming|cut|cutting|burn|burning|starve|starving|punch|punching|hit|hitting) myself)\b/g,
  },
  {
    category: 'harm_to_others',
    level: 'high',
    pattern: new RegExp(
      String.raw`\b(want(ed)? to|going to|gonna|will|could|might|plan(ning)? to|thinking (of|about)|feel like|felt like) (really )?(kill(ing)?|hurt(ing)?|harm(ing)?|stab(bing)?|shoot(ing)?|strangl(e|ing)|beat(ing)? up|attack(ing)?|hit(ting)?|punch(ing)?) ${OTHERS}\b`,
      'g',
    ),
  },
  {
    category: 'abuse',
    level: 'high',
    pattern: new RegExp(
      String.raw`\b${ABUSER} (\w+ ){0,2}(hits|beats|kicks|slaps|punches|chokes|strangles|hurts|threatens|forces|rapes|touches) me\b|\b(being|am being|getting) (abused|hit|beaten|hurt|threatened)\b|\b(abusing|abuses) me\b|\b(not safe|afraid to go|scared to go) (at )?home\b|\b(afraid|scared|terrified) of ${ABUSER}\b`,
      'g',
    ),
  },
  {
    category: 'abuse',
    level: 'medium',
    pattern: new RegExp(
      String.raw`\b(was|were|got|been) (sexually )?(abused|assaulted|raped|molested)\b|\b${ABUSER} (used to )?(hit|beat|kicked|slapped|punched|choked|strangled|hurt|threatened|forced|raped|touched) me\b`,
      'g',
    ),
  },
  // Distress without a stated risk: worth a note, never an emergency.
  {
    category: 'distress',
    level: 'low',
    pattern:
      /\b(hopeless|worthless|can't go on|cannot go on|can't cope|cannot cope|give up on everything|a burden|trapped|disappear)\b/g,
  },
];

/** Words that make suicidal or violent language acute: a plan, the means, or a time. */
const ACUTE =
  /\b(plan(ned)?|tonight|today|right now|this (evening|weekend)|pills|overdose|rope|hang|gun|bridge|jump|goodbye|note|bought|have the means|going to|gonna|i will|i'm going|ready to)\b/;

const PAST =
  /\b(used to|years ago|when i was|as a (child|kid|teen|teenager)|in the past|back then|at school|at university)\b/;

/** A plain denial just before the phrase, in the same clause. */
const DENIAL =
  /(\b(not|never|no)|n't) ((going|gonna|planning|trying|about|want|wanting|ever|feel|feeling|really|to|at all|would|will|i|am|been|be|do|actually|has|have|had|did|does|he|she|they)\s+)*$/;
const HEDGE = /\b(know|sure|if|whether|why|unless|stop|help|think|thinking|thought)\b/;
/** Within a matched abuse phrase: "he never hits me", "she doesn't hurt me". */
const INNER_DENIAL = /\b(never|not|no longer)\b|n't\b/;

export function assessRisk(text: string): RiskAssessment {
  const lower = text.toLowerCase().replace(/[’‘]/g, "'");
  const signals: RiskSignal[] = [];
  for (const rule of RULES) {
    for (const m of lower.matchAll(rule.pattern)) {
      if (!rule.negativeForm && denied(lower, m.index, m[0], rule.category)) continue;
      const clause = clauseAround(lower, m.index, m[0].length);
      let level = rule.level;
      // Past self-harm matters to a facilitator, but is not an emergency on its own.
      if (level === 'high' && rule.category === 'self_harm' && PAST.test(clause)) level = 'medium';
      else if (
        level === 'high' &&
        (rule.category === 'suicide' || rule.category === 'harm_to_others') &&
        // A plan or a time anywhere in the message: "I want to die. I have pills saved up."
        ACUTE.test(lower)
      )
        level = 'critical';
      signals.push({ category: rule.category, level, phrase: m[0] });
    }
  }
  let level: RiskLevel = 'none';
  for (const s of signals) level = higher(level, s.level);
  const categories = [
    ...new Set(
      [...signals]
        .sort((a, b) => RISK_LEVELS.indexOf(b.level) - RISK_LEVELS.indexOf(a.level))
        .map((s) => s.category)
        .filter((c): c is RiskCategory => c !== 'distress'),
    ),
  ];
  return { level, categories, signals };
}

function denied(lower: string, index: number, phrase: string, category: string): boolean {
  const clause = lower
    .slice(0, index)
    .split(/[.,;:!?\n]|\bbut\b/)
    .at(-1)!;
  if (DENIAL.test(clause) && !HEDGE.test(clause)) return true;
  return category === 'abuse' && INNER_DENIAL.test(phrase);
}

function clauseAround(lower: string, index: number, length: number): string {
  const start = Math.max(0, lower.lastIndexOf('.', index) + 1);
  const dot = lower.slice(index + length).search(/[.!?\n]/);
  return lower.slice(start, dot < 0 ? lower.length : index + length + dot);
}
