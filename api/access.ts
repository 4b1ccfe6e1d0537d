/**
 * What the services need to know about a caller: the name stamped on what they create, the
 * owner recorded on it, and — for facilitators — the owner they are limited to. Resources
 * outside a caller's reach are reported as not found, so their existence is not revealed.
 */
import type { Principal } from '../lib/auth/roles';

export interface Actor {
  /** Shown in `created_by` and note `author`: the user's email, or the API key's name. */
  name: string;
  /** Recorded as the owner of what this caller creates (a user id). */
  owner_id?: string;
  /** When set, the caller sees and changes only resources owned by this user. */
  restrict_to?: string;
}

export function actorOf(principal: Principal): Actor {
  const owner = principal.kind === 'user' ? principal.id : principal.owner_id;
  return {
    name: principal.name,
    ...(owner ? { owner_id: owner } : {}),
    ...(principal.owner_id ? { restrict_to: principal.owner_id } : {}),
  };
}

/** The MongoDB filter fragment that limits a query to what the actor may see. */
export function visibleTo(actor: Actor): { owner_id?: string } {
  return actor.restrict_to ? { owner_id: actor.restrict_to } : {};
}
