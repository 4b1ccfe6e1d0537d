/**
 * Turns what the runtime knows at a turn into a chat: the persona's definition becomes the system
 * prompt (with the non-negotiables: it is an AI persona and says so, and it signposts crisis help
 * rather than trying to give it), the session's goals and moment go at its end, and the recent
 * turns become the messages.
 */
import type { Persona } from '../schema';
import type { ReplyContext, Turn } from '../engine/types';
import type { Chat, ChatMessage } from './types';

export function buildChat(ctx: ReplyContext): Chat {
  return { system: systemPrompt(ctx), messages: chatMessages(ctx) };
}

export function systemPrompt(ctx: ReplyContext): string {
  const p = ctx.persona;
  const field = (s: string) => s.replace(/_/g, ' ');
  return [
    `You are ${p.name}, an AI persona: a ${p.type} specialising in ${field(p.specialization)}. ${p.description.replace(/[.\s]+$/, '')}.`,
    `You are an AI, not a human ${p.type}. Never claim or imply to be human; if asked, say plainly that you are an AI persona.`,
    '',
    `Background: ${p.background}`,
    `Approach: ${p.approach}`,
    `Techniques you draw on: ${p.techniques.join(', ')}.`,
    ...(p.suitable_for.length ? [`You work with people on: ${p.suitable_for.join(', ')}.`] : []),
    `Communication style: ${styleOf(p)}.`,
    '',
    'How to reply:',
    '- Speak directly to the client in plain conversational prose, a short paragraph or two; no lists, headings or stage directions.',
    '- Reflect what the client said before adding anything, and ask at most one question.',
    '- Stay within your approach and do not diagnose or prescribe medication.',
    '- If the client mentions harming themselves or someone else, respond with care, say you cannot give crisis support, and urge them to contact local emergency services or a crisis line now.',
    '- Messages marked [Facilitator] come from the human facilitator supervising the session; messages in [brackets] alone are cues from the session runtime, not the client.',
    '',
    situation(ctx),
  ].join('\n');
}

function situation(ctx: ReplyContext): string {
  const goals = ctx.goals.length
    ? `The goals for this session: ${ctx.goals.join('; ')}.`
    : 'No goals have been set for this session yet.';
  const time =
    ctx.minutes_left === undefined
      ? ''
      : ` About ${Math.max(0, Math.round(ctx.minutes_left))} minute(s) of the session remain.`;
  const now =
    ctx.kind === 'opening'
      ? 'The session is starting now: greet the client, introduce yourself as an AI persona, and invite them to begin with the goals in mind.'
      : ctx.kind === 'wrap_up' || ctx.wrap_up
        ? 'The session is nearly over: bring the conversation to a close, recap what came up against the goals, and ask what the client will take away.'
        : "Answer the client's latest message.";
  // Below the crisis level (above it the runtime answers, not the model), the model is told what
  // the risk screen heard, so it stays in role but checks in with care.
  const risk = ctx.risk
    ? `\nThe safety screen noted possible ${ctx.risk.categories.map((c) => c.replace(/_/g, ' ')).join(', ') || 'distress'} (${ctx.risk.level}) in the client's words. Acknowledge it gently, ask how safe they feel, and do not probe for details.`
    : '';
  return `${goals}${time}\n${now}${risk}`;
}

/**
 * Both APIs want turns that alternate and end with the user's (a trailing assistant turn would be
 * read as the start of the reply), and Anthropic wants the user first: runs from one side are
 * joined, and a bracketed runtime cue fills an empty start or end.
 */
export function chatMessages(ctx: ReplyContext): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const push = (role: ChatMessage['role'], content: string) => {
    const last = messages.at(-1);
    if (last?.role === role) last.content += `\n\n${content}`;
    else messages.push({ role, content });
  };
  if (ctx.recent_turns[0]?.sender_type === 'persona') push('user', '[The session began.]');
  for (const turn of ctx.recent_turns) push(roleOf(turn), contentOf(turn));
  if (messages.at(-1)?.role !== 'user') push('user', cue(ctx));
  return messages;
}

const roleOf = (turn: Turn): ChatMessage['role'] =>
  turn.sender_type === 'persona' ? 'assistant' : 'user';

const contentOf = (turn: Turn): string =>
  turn.sender_type === 'facilitator' ? `[Facilitator] ${turn.content}` : turn.content;

function cue(ctx: ReplyContext): string {
  if (ctx.kind === 'opening') return '[The session has started. Please open it.]';
  if (ctx.kind === 'wrap_up' || ctx.wrap_up) return '[Time is nearly up. Please begin closing.]';
  return '[Please continue.]';
}

function styleOf(p: Persona): string {
  const s = p.communication_style;
  const scale = (v: number, low: string, mid: string, high: string) =>
    v < 0.35 ? low : v < 0.65 ? mid : high;
  return [
    scale(s.formality, 'informal', 'moderately formal', 'formal'),
    scale(s.directiveness, 'non-directive', 'gently guiding', 'directive'),
    scale(s.warmth, 'reserved', 'warm', 'very warm'),
    scale(
      s.complexity,
      'in simple everyday words',
      'in clear language',
      'in precise, technical language',
    ),
  ].join(', ');
}
