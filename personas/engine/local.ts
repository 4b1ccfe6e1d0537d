/**
 * The default persona engine: offline and deterministic, so sessions work without an LLM and
 * a replayed activity produces the same words. Each reply reflects the client's last message
 * and adds one move that fits the persona's approach; wording varies only with session and turn.
 */
import type { PersonaEngine, PersonaReply, ReplyContext } from './types';
import { analyzeSession } from './analysis';
import {
  asksAboutIdentity,
  detectEmotions,
  detectTopics,
  goalPhrase,
  joinList,
  mentionsRisk,
  POSITIVE,
  topicPhrase,
  type Emotion,
} from './lexicon';
import { approachOf, MOVES, pick, styled, VALIDATIONS } from './voice';

const ACKNOWLEDGEMENTS = [
  'Thank you for telling me about that.',
  'I hear you.',
  'Let us stay with that for a moment.',
];
const TAKEAWAYS = [
  'What is one thing you would like to take away from today?',
  'What is one small step you could try before we next meet?',
  'Looking back over our conversation, what stood out most for you?',
];
// A risk message gets crisis signposting, never a therapeutic move; leads vary so it never echoes.
const SAFETY_LEADS = [
  'I am really concerned by what you have shared, and your safety matters most right now.',
  'What you are describing worries me, and I want to make sure you are safe.',
];
const SAFETY =
  'I am an AI persona and cannot give crisis support, so please contact your local emergency ' +
  'number or a crisis line now (for example 988 in the US, or Samaritans on 116 123 in the UK ' +
  'and Ireland), or reach out to someone you trust who can be with you.';

export function createLocalEngine(): PersonaEngine {
  return {
    name: 'local',
    reply: async (ctx) => composeReply(ctx),
    analyze: async (input) => analyzeSession(input),
  };
}

function composeReply(ctx: ReplyContext): PersonaReply {
  const { persona } = ctx;
  const say = (move: string, parts: string[], emotions: Emotion[] = []): PersonaReply => ({
    content: styled(persona, parts.filter(Boolean).join(' ')),
    metadata: { move, emotions },
  });
  const goals = ctx.goals.map(goalPhrase);
  const choose = <T>(items: readonly T[]) => pick(items, ctx.session_id, ctx.persona_turn);

  if (ctx.kind === 'opening') {
    return say('opening', [
      persona.opening_lines
        ? choose(persona.opening_lines)
        : `Hello, I am ${persona.name}, an AI persona here to support you.`,
      goals.length
        ? `${goalsLabel(goals)} for today: ${joinList(goals)}. Where would you like to start?`
        : 'We have not set goals for today yet, so what would you like to focus on?',
    ]);
  }
  if (ctx.kind === 'wrap_up') return say('wrap_up', closing(ctx, goals, choose(TAKEAWAYS)));

  const last = ctx.recent_turns.findLast((t) => t.sender_type === 'client')?.content ?? '';
  const emotions = detectEmotions(last);
  if (mentionsRisk(last))
    return {
      content: `${choose(SAFETY_LEADS)} ${SAFETY}`,
      metadata: { move: 'safety', emotions, risk: true },
    };

  const negative = emotions.filter((e) => !POSITIVE.has(e));
  const positive = emotions.filter((e) => POSITIVE.has(e));
  const topic = detectTopics(last)[0];
  const where = topic ? ` ${topicPhrase(topic)}` : '';
  const reflection = negative.length
    ? `It sounds like you are feeling ${joinList(negative)}${where}` +
      (positive.length ? `, and also ${joinList(positive)}.` : '.')
    : positive.length
      ? `It is good to hear you are feeling ${joinList(positive)}.`
      : choose(ACKNOWLEDGEMENTS);
  const moves = MOVES[approachOf(persona)];
  const move = ctx.wrap_up
    ? { name: 'wrap_up', prompt: `As we come towards the end, ${choose(TAKEAWAYS).toLowerCase()}` }
    : { name: moves.name, prompt: choose(moves.prompts) };

  return say(
    move.name,
    [
      asksAboutIdentity(last)
        ? `To be clear, I am an AI persona, not a human ${persona.type}.`
        : '',
      reflection,
      negative.length && persona.communication_style.warmth > 0.6 ? choose(VALIDATIONS) : '',
      move.prompt,
    ],
    emotions,
  );
}

const goalsLabel = (goals: string[]) => (goals.length === 1 ? 'Our goal' : 'Our goals');

function closing(ctx: ReplyContext, goals: string[], takeaway: string): string[] {
  const left = ctx.minutes_left;
  const time =
    left === undefined
      ? 'We are coming to the end of our session'
      : left < 1
        ? 'We have less than a minute left'
        : `We have about ${Math.round(left)} minute${Math.round(left) === 1 ? '' : 's'} left`;
  const felt = [
    ...new Set(
      ctx.recent_turns
        .filter((t) => t.sender_type === 'client')
        .flatMap((t) => detectEmotions(t.content)),
    ),
  ];
  return [
    `${time}, so let us start bringing things together.`,
    goals.length ? `${goalsLabel(goals)} for today: ${joinList(goals)}.` : '',
    felt.length ? `Along the way you described feeling ${joinList(felt)}.` : '',
    takeaway,
  ];
}
