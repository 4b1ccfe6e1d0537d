/**
 * `smartsteps_sessions{status}`: how many sessions are in each status, deployment-wide. Counted
 * when scraped, at most every `refreshSeconds` (counting reads the sessions collection, and on
 * FerretDB that is a scan), so an idle deployment with no scraper costs nothing.
 */
import { Gauge, type Registry } from 'prom-client';
import type { Db } from 'mongodb';
import { SESSION_STATUSES } from '../schemas/session';
import { COLLECTIONS, type SessionDoc } from '../store/collections';

/** A scrape waits this long for the counts at most, then shows the last ones. */
const COUNT_TIMEOUT_MS = 2_000;

export function countSessions(registry: Registry, db: Db, refreshSeconds: number): void {
  const sessions = db.collection<SessionDoc>(COLLECTIONS.sessions);
  let last: { at: number; counts: number[] } | undefined;
  let counting: Promise<void> | undefined;
  const count = async () => {
    const counts = await Promise.all(
      SESSION_STATUSES.map((status) => sessions.countDocuments({ status })),
    );
    last = { at: Date.now(), counts };
  };
  new Gauge({
    name: 'smartsteps_sessions',
    help: 'Sessions by status across the deployment (every API instance reports the same counts), counted at most every metrics.sessions_refresh_seconds.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      if (!last || Date.now() - last.at >= refreshSeconds * 1000) {
        // One count at a time however many scrapers ask; a failed one leaves the last counts.
        counting ??= count()
          .catch(() => undefined)
          .finally(() => (counting = undefined));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          counting,
          new Promise((resolve) => (timer = setTimeout(resolve, COUNT_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
      }
      if (!last) return;
      SESSION_STATUSES.forEach((status, i) => this.set({ status }, last!.counts[i]!));
    },
  });
}
