/**
 * The phase a session is in, worked out from what the runtime passes on each turn (the engine
 * keeps no state): the kind of turn, how many times the persona has spoken, whether the wrap-up
 * cue has been given and how many minutes are left.
 */
import type { ReplyContext } from './types';
import type { Reading } from './reading';

export const PHASES = [
  'opening',
  'agenda',
  'exploration',
  'intervention',
  'summary',
  'closing',
] as const;
export type Phase = (typeof PHASES)[number];

/** With this little time left (and something to summarise), the persona pulls things together. */
export const SUMMARY_MINUTES = 8;
/** From this persona turn on, the persona intervenes rather than explores. */
export const INTERVENTION_TURN = 4;
/** Goal check-ins come every few turns of the intervention phase. */
export const CHECK_IN_EVERY = 4;

export function phaseOf(ctx: ReplyContext, reading: Reading): Phase {
  if (ctx.kind === 'opening') return 'opening';
  // The runtime's wrap-up cue moves the session to closing, and it stays there.
  if (ctx.kind === 'wrap_up' || ctx.wrap_up) return 'closing';
  if (
    ctx.minutes_left !== undefined &&
    ctx.minutes_left <= SUMMARY_MINUTES &&
    ctx.persona_turn >= 3
  )
    return 'summary';
  if (ctx.persona_turn <= 1) return 'agenda';
  // A thinking trap already in view is worth working on straight away.
  if (
    ctx.persona_turn < INTERVENTION_TURN &&
    !(ctx.persona_turn === 3 && reading.distortions.length)
  )
    return 'exploration';
  return 'intervention';
}

/** Whether this intervention turn is one for checking in on the session's goals. */
export const isCheckInTurn = (ctx: ReplyContext) =>
  ctx.goals.length > 0 &&
  ctx.persona_turn >= INTERVENTION_TURN + 2 &&
  (ctx.persona_turn - INTERVENTION_TURN - 2) % CHECK_IN_EVERY === 0;
