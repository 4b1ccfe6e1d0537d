/**
 * The default persona engine: offline and deterministic, so sessions work without an LLM and a
 * training run replays with the same words. Each reply reads the client's words since the
 * persona last spoke (feelings and their intensity, thinking traps, parts of life), works out the
 * session's phase from what the runtime passes, and chooses a move that fits the phase and the
 * persona's techniques. Wording depends only on the session, the turn and the client's words;
 * every sentence comes from a rotating pool (phrases.ts), so a session does not hear the same
 * sentence twice, and one already said in the recent turns is stepped past.
 */
import { assessRisk } from '../safety/risk';
import { crisisReply, DEFAULT_CRISIS_SETTINGS } from '../safety/crisis';
import { atLeast } from '../../lib/schemas/safety';
import type { PersonaEngine, PersonaReply, ReplyContext, Turn } from './types';
import type { Persona } from '../schema';
import { analyzeSession, readClientMessages } from './analysis';
import { DISTORTION_GIST, DISTORTION_LABEL } from './distortions';
import {
  goalAim,
  goalOverlap,
  goalPhrase,
  joinList,
  POSITIVE,
  topicPhrase,
  type EmotionReading,
  type Topic,
} from './lexicon';
import { isCheckInTurn, phaseOf } from './phases';
import * as P from './phrases';
import { readClient, type Reading } from './reading';
import {
  ASK_LEADS,
  chooseTechnique,
  EXPLORATION,
  SUGGEST_LEADS,
  type Technique,
} from './techniques';
import { approachOf, fnv1a, pick, rotate, styled, type Pool } from './voice';

/** How a topic reads as the subject of a sentence ("It sounds like work is on your mind"). */
const TOPIC_NOUN: Record<Topic, string> = {
  work: 'work',
  study: 'your studies',
  family: 'your family',
  relationship: 'your relationship',
  friends: 'being around other people',
  sleep: 'your sleep',
  health: 'your health',
  money: 'money',
};

/** Above this, a warm persona stays with the feeling before any technique. */
const VALIDATE_FIRST = 0.9;

export function createLocalEngine(): PersonaEngine {
  return {
    name: 'local',
    reply: async (ctx) => composeReply(ctx),
    analyze: async (input) => analyzeSession(input, await readClientMessages(input)),
  };
}

/** The sentences of a message, as the no-repeat rule counts them. */
export function sentencesOf(text: string): string[] {
  return text
    .split(/(?<=[.?!])\s+(?=[A-Z"])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** What the client said since the persona last spoke (the runtime answers a batch at once). */
function latestClientWords(turns: readonly Turn[]): string {
  const lastPersona = turns.findLastIndex((t) => t.sender_type === 'persona');
  return turns
    .slice(lastPersona + 1)
    .filter((t) => t.sender_type === 'client')
    .map((t) => t.content)
    .join('\n');
}

function feelingWords(emotions: EmotionReading[]): string {
  return joinList(
    emotions.map((e) =>
      e.intensity >= 0.8
        ? `really ${e.emotion}`
        : e.intensity <= 0.3
          ? `a little ${e.emotion}`
          : e.emotion,
    ),
  );
}

/** The session goal the client's words touch most, if any. */
function goalInView(goals: readonly string[], text: string): string | undefined {
  let best: string | undefined;
  let bestScore = 1;
  for (const g of goals) {
    const score = goalOverlap(g, text);
    if (score > bestScore) [best, bestScore] = [g, score];
  }
  return best;
}

class Reply {
  private readonly sentences: string[] = [];
  private readonly said: Set<string>;
  readonly meta: Record<string, unknown> = {};

  constructor(
    private readonly ctx: ReplyContext,
    earlier: readonly string[],
  ) {
    this.said = new Set(earlier.flatMap(sentencesOf));
  }

  get persona(): Persona {
    return this.ctx.persona;
  }

  /** A sentence from a pool, stepping past any the persona has already said in view. */
  from(pool: Pool, fill: Record<string, string> = {}): this {
    let candidate = '';
    for (let step = 0; step < 7; step++) {
      candidate = styled(
        this.persona,
        rotate(pool, this.ctx.session_id, this.ctx.persona_turn + step * 5, fill),
      );
      if (!this.said.has(candidate) && !this.sentences.includes(candidate)) break;
    }
    this.sentences.push(candidate);
    return this;
  }

  /** The persona's own words from its definition, kept exactly as written. */
  asWritten(text: string): this {
    this.sentences.push(text);
    return this;
  }

  /** A sentence written here rather than drawn from a pool (said once per session at most). */
  add(text: string): this {
    if (text) this.sentences.push(styled(this.persona, text));
    return this;
  }

  /**
   * A technique's prompt: a question for personas low in directiveness, a suggestion for
   * directive ones; personas with complex language add why it helps.
   */
  technique(t: Technique): this {
    const { directiveness, complexity } = this.persona.communication_style;
    const turn = fnv1a(this.ctx.session_id + t.id) + this.ctx.persona_turn;
    const why = complexity >= 0.5 ? `, ${t.why[turn % t.why.length]}` : '';
    const pool: Pool =
      directiveness >= 0.55
        ? { heads: SUGGEST_LEADS, tails: t.suggest.map((core) => `${core}${why}.`) }
        : { heads: ASK_LEADS, tails: t.ask.map((core) => `${core}${why}?`) };
    return this.from(pool);
  }

  done(): PersonaReply {
    return { content: this.sentences.join(' '), metadata: this.meta };
  }
}

function composeReply(ctx: ReplyContext): PersonaReply {
  const { persona } = ctx;
  const style = persona.communication_style;
  const directive = style.directiveness >= 0.55;
  const earlier = ctx.recent_turns.filter((t) => t.sender_type === 'persona').map((t) => t.content);
  const text = ctx.kind === 'response' ? latestClientWords(ctx.recent_turns) : '';
  const reading = readClient(
    text,
    ctx.recent_turns
      .filter((t) => t.sender_type === 'client')
      .map((t) => t.content)
      .slice(0, -1),
  );
  const phase = phaseOf(ctx, reading);
  const reply = new Reply(ctx, earlier);
  const negative = reading.emotions.filter((e) => !POSITIVE.has(e.emotion));
  const positive = reading.emotions.filter((e) => POSITIVE.has(e.emotion));
  Object.assign(reply.meta, {
    phase,
    emotions: reading.emotions.map((e) => e.emotion),
    intensity: Object.fromEntries(reading.emotions.map((e) => [e.emotion, e.intensity])),
    distress: reading.distress,
    distortions: reading.distortions.map((d) => d.distortion),
    topics: reading.topics,
  });
  const move = (name: string, extra: Record<string, unknown> = {}) =>
    Object.assign(reply.meta, { move: name, ...extra });

  if (phase === 'opening') {
    move('opening');
    return opening(ctx, reply, directive);
  }
  // The runtime screens every message first and answers a crisis itself (ctx.risk then says what
  // it found below that level). Called on its own, the engine gives the same crisis reply.
  const risk = ctx.risk ? undefined : text ? assessRisk(text) : undefined;
  if (risk && atLeast(risk.level, 'high'))
    return {
      content: crisisReply(
        {
          persona,
          risk,
          session_id: ctx.session_id,
          turn: ctx.persona_turn,
        },
        DEFAULT_CRISIS_SETTINGS,
      ),
      metadata: {
        ...reply.meta,
        move: 'safety',
        risk: { level: risk.level, categories: risk.categories },
      },
    };

  if (reading.asksIdentity) reply.from(P.IDENTITY, { type: persona.type });
  if (phase === 'closing' && ctx.kind === 'wrap_up') {
    move('summary');
    return wrapUp(ctx, reply, directive);
  }

  // Reflect what the client brought: feelings first, else the part of life, else acknowledge.
  const topic = reading.topics[0];
  if (negative.length) {
    reply.from(P.REFLECT, {
      feel: feelingWords(negative),
      where: topic ? ` ${topicPhrase(topic)}` : '',
      also: positive.length ? `, and also ${feelingWords(positive)}` : '',
    });
  } else if (positive.length) {
    reply.from(P.REFLECT_UP, { feel: feelingWords(positive) });
  } else if (reading.distortions[0]) {
    reply.from(P.REFLECT_THOUGHT, { thought: reading.distortions[0].excerpt });
  } else if (topic) {
    reply.from(P.REFLECT_TOPIC, { topic: TOPIC_NOUN[topic] });
  } else if (!reading.asksIdentity) {
    reply.from(P.ACKNOWLEDGE);
  }
  // Warmth: the warmer the persona, the less distress it takes before it validates.
  const validateAt =
    style.warmth >= 0.85 ? 0.2 : style.warmth >= 0.7 ? 0.3 : style.warmth >= 0.5 ? 0.75 : 2;
  if (negative.length && reading.distress >= validateAt) reply.from(P.VALIDATE);

  const goal = goalInView(ctx.goals, text);
  if (goal) reply.meta.goal = goal;

  switch (phase) {
    case 'agenda':
      move('agenda_setting');
      return agenda(ctx, reply, reading, goal, directive);
    case 'exploration':
      return explore(ctx, reply, reading, move);
    case 'intervention':
      return intervene(ctx, reply, reading, goal, move);
    case 'summary':
      return summarise(ctx, reply, earlier, move);
    default:
      move('closing');
      return reply.from(directive ? P.CLOSING_SUGGEST : P.CLOSING_ASK).done();
  }
}

function opening(ctx: ReplyContext, reply: Reply, directive: boolean): PersonaReply {
  const { persona } = ctx;
  const goals = ctx.goals.map(goalPhrase);
  if (persona.opening_lines)
    reply.asWritten(pick(persona.opening_lines, ctx.session_id, ctx.persona_turn));
  else reply.add(`Hello, I am ${persona.name}, an AI persona here to support you.`);
  if (goals.length) {
    reply.add(`${goals.length === 1 ? 'Our goal' : 'Our goals'} for today: ${joinList(goals)}.`);
    reply.add(
      directive
        ? 'Let us begin with whichever of these feels most pressing, and I will guide us from there.'
        : 'Where would you like to start?',
    );
  } else {
    reply.add(
      directive
        ? 'We have not set goals for today yet, so let us start by agreeing what to focus on.'
        : 'We have not set goals for today yet, so what would you like to focus on?',
    );
  }
  return reply.done();
}

function agenda(
  ctx: ReplyContext,
  reply: Reply,
  reading: Reading,
  goal: string | undefined,
  directive: boolean,
): PersonaReply {
  if (goal) {
    reply.meta.goal = goal;
    return reply
      .from(directive ? P.AGENDA_FOCUS_SUGGEST : P.AGENDA_FOCUS_ASK, { aim: goalAim(goal) })
      .done();
  }
  if (ctx.goals.length) {
    reply.meta.goal = ctx.goals[0];
    return reply
      .from(directive ? P.AGENDA_CHOOSE_SUGGEST : P.AGENDA_CHOOSE_ASK, {
        aim: goalAim(ctx.goals[0]!),
        aims:
          ctx.goals.length > 1
            ? joinList(ctx.goals.map(goalAim)).replace(/ and ([^,]*)$/, ' or $1')
            : goalAim(ctx.goals[0]!),
      })
      .done();
  }
  const topic = reading.topics[0];
  return reply
    .from(directive && topic ? P.AGENDA_OPEN_SUGGEST : P.AGENDA_OPEN_ASK, {
      topic: topic ? TOPIC_NOUN[topic] : '',
    })
    .done();
}

/** What to explain for what the client brought, by approach; undefined: nothing to explain. */
function educationFor(ctx: ReplyContext, reading: Reading): keyof typeof P.EDUCATE | undefined {
  const approach = approachOf(ctx.persona);
  if (approach === 'behavioral')
    return reading.emotions.length || reading.topics.length ? 'behaviour' : undefined;
  if (reading.distortions.length) return 'distortion';
  const top = reading.emotions
    .filter((e) => !POSITIVE.has(e.emotion))
    .sort((a, b) => b.intensity - a.intensity)[0];
  if (!top) return reading.asksAdvice ? 'thoughts' : undefined;
  if (top.emotion === 'anxious') return 'anxiety';
  if (['sad', 'tired', 'lonely', 'ashamed'].includes(top.emotion)) return 'low_mood';
  if (['stressed', 'overwhelmed'].includes(top.emotion)) return 'stress';
  return 'thoughts';
}

function explore(
  ctx: ReplyContext,
  reply: Reply,
  reading: Reading,
  move: (name: string, extra?: Record<string, unknown>) => void,
): PersonaReply {
  const approach = approachOf(ctx.persona);
  // The second exploring turn explains what is going on; a persona that follows the client's
  // lead (directiveness below 0.5) does so only when asked.
  const teaches = ctx.persona.communication_style.directiveness >= 0.5 || reading.asksAdvice;
  const topic = ctx.persona_turn >= 3 && teaches ? educationFor(ctx, reading) : undefined;
  if (topic) {
    move('psychoeducation', { education: topic });
    const d = reading.distortions[0];
    return reply
      .from(
        P.EDUCATE[topic],
        d ? { trap: DISTORTION_LABEL[d.distortion], gist: DISTORTION_GIST[d.distortion] } : {},
      )
      .done();
  }
  const t = EXPLORATION[approach];
  move(t.move);
  return reply.technique(t).done();
}

function intervene(
  ctx: ReplyContext,
  reply: Reply,
  reading: Reading,
  goal: string | undefined,
  move: (name: string, extra?: Record<string, unknown>) => void,
): PersonaReply {
  const directive = ctx.persona.communication_style.directiveness >= 0.55;
  if (isCheckInTurn(ctx)) {
    // Goals in turn, so each one gets its check-in over a long session.
    const aimed = goal ?? ctx.goals[Math.floor(ctx.persona_turn / 4) % ctx.goals.length]!;
    move('goal_check_in', { goal: aimed });
    return reply
      .from(directive ? P.GOAL_CHECK_SUGGEST : P.GOAL_CHECK_ASK, { aim: goalAim(aimed) })
      .done();
  }
  if (reading.distress >= VALIDATE_FIRST && ctx.persona.communication_style.warmth >= 0.6) {
    move('validation');
    return reply.technique(EXPLORATION.person_centered).done();
  }
  const t = chooseTechnique(ctx.persona, reading, ctx.session_id, ctx.persona_turn);
  move(t.move, t.move === 'technique' ? { technique: t.id } : {});
  const d = reading.distortions[0];
  if (t.id === 'cognitive_restructuring' && d) {
    reply.from(P.EDUCATE.distortion, {
      trap: DISTORTION_LABEL[d.distortion],
      gist: DISTORTION_GIST[d.distortion],
    });
  }
  if (goal && ctx.persona_turn % 2 === 1) reply.from(P.GOAL_LINK, { aim: goalAim(goal) });
  return reply.technique(t).done();
}

/** What the client brought across the turns in view: feelings, where, and a thinking trap. */
function recap(ctx: ReplyContext) {
  const said = ctx.recent_turns
    .filter((t) => t.sender_type === 'client')
    .map((t) => readClient(t.content));
  const felt = [
    ...new Set(
      said.flatMap((r) => r.emotions.map((e) => e.emotion)).filter((e) => !POSITIVE.has(e)),
    ),
  ];
  const topic = said.flatMap((r) => r.topics)[0];
  const trap = said.flatMap((r) => r.distortions)[0];
  return { felt, topic, trap };
}

function recall(ctx: ReplyContext, reply: Reply): void {
  const { felt, topic, trap } = recap(ctx);
  if (ctx.goals.length) reply.from(P.SUMMARY_GOALS, { aims: joinList(ctx.goals.map(goalAim)) });
  if (felt.length)
    reply.from(P.SUMMARY_FELT, {
      felt: joinList(felt.slice(0, 3)),
      where: topic ? ` ${topicPhrase(topic)}` : '',
    });
  if (trap)
    reply.from(P.SUMMARY_THOUGHT, {
      thought: trap.excerpt,
      trap: DISTORTION_LABEL[trap.distortion],
    });
}

function summarise(
  ctx: ReplyContext,
  reply: Reply,
  earlier: readonly string[],
  move: (name: string, extra?: Record<string, unknown>) => void,
): PersonaReply {
  const directive = ctx.persona.communication_style.directiveness >= 0.55;
  // Stateless: a summary already given shows in the persona's own recent words.
  const leads = P.SUMMARY_LEAD.heads.map((h) => styled(ctx.persona, h));
  const summarised = earlier.some((c) => leads.some((l) => c.includes(l)));
  if (!summarised) {
    move('summary');
    reply.from(P.SUMMARY_LEAD);
    recall(ctx, reply);
    return reply.from(P.SUMMARY_CHECK).done();
  }
  if (ctx.goals.length) {
    const aimed = ctx.goals[ctx.persona_turn % ctx.goals.length]!;
    move('goal_check_in', { goal: aimed });
    return reply
      .from(directive ? P.GOAL_CHECK_SUGGEST : P.GOAL_CHECK_ASK, { aim: goalAim(aimed) })
      .done();
  }
  move('closing');
  return reply.from(directive ? P.CLOSING_SUGGEST : P.CLOSING_ASK).done();
}

function wrapUp(ctx: ReplyContext, reply: Reply, directive: boolean): PersonaReply {
  const left = ctx.minutes_left;
  const time =
    left === undefined
      ? 'We are coming to the end of our session'
      : left < 1
        ? 'We have less than a minute left'
        : `We have about ${Math.round(left)} minute${Math.round(left) === 1 ? '' : 's'} left`;
  reply.add(`${time}, so let us start bringing things together.`);
  recall(ctx, reply);
  return reply.from(directive ? P.CLOSING_SUGGEST : P.CLOSING_ASK).done();
}
