/**
 * Read-modify-write of one document by writers that may overlap. Each session's documents have
 * one writer by design (its workflow), but an activity attempt that outlived its timeout can
 * still be running beside its retry or the next write; a plain read-then-$set would then drop
 * the other's change. So a write is conditional on what it read (a filter on a value every
 * write changes) and, when another writer came first, is worked out again from the fresh
 * document.
 */
const MAX_ATTEMPTS = 50;

/** Runs `attempt` until it reports its conditional write applied (or had nothing to write). */
export async function untilWritten(what: string, attempt: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    if (await attempt()) return;
  }
  // Not reachable by a handful of overlapping writers; the caller's retry (an activity) runs
  // it again rather than dropping the change.
  throw new Error(`${what} kept changing under ${MAX_ATTEMPTS} attempts to update it`);
}
