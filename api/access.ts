/**
 * What the services need to know about a caller: the name stamped on what they create, the
 * owner recorded on it, and — for facilitators — the owner they are limited to. Resources
 * outside a caller's reach are reported as not found, so their existence is not revealed.
 */
import type { Collection, Document, Filter } from 'mongodb';
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

/**
 * A record by id if the actor may see it, else null. Looked up by `_id` alone, the owner compared
 * here: FerretDB uses the key only for a filter of exactly `{ _id }`, so `{ _id, owner_id }`
 * read the whole collection on every facilitator request. `projection` works as MongoDB's; the
 * owner is read for the check either way and left out again where the projection leaves it out.
 */
export async function findVisible<T extends Document>(
  col: Collection<T>,
  id: string,
  actor: Actor,
  projection: Record<string, 0 | 1> = {},
): Promise<T | null> {
  const inclusive = Object.entries(projection).some(([k, v]) => v === 1 && k !== 'owner_id');
  const showsOwner = inclusive ? projection.owner_id === 1 : projection.owner_id !== 0;
  const { owner_id: _owner, ...rest } = projection;
  const found = (await col.findOne({ _id: id } as Filter<T>, {
    projection: inclusive ? { ...rest, owner_id: 1 } : rest,
  })) as (T & { owner_id?: string }) | null;
  if (!found) return null;
  if (actor.restrict_to && found.owner_id !== actor.restrict_to) return null;
  if (!showsOwner) delete found.owner_id;
  return found;
}
