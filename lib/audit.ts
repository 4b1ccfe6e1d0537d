/**
 * The audit log: who did what to which resource, when, from where, and how it ended. Entries
 * name people and resources by id and never hold secrets (passwords, tokens, keys) or what a
 * client said: an action and an outcome, not content. Written before the answer leaves, so an
 * answered request is always on record.
 */
import type { Db } from 'mongodb';
import { z } from 'zod';
import type { Principal } from './auth/roles';
import { randomToken } from './ids';
import { COLLECTIONS } from './store/collections';

export const AUDIT_OUTCOMES = ['success', 'denied', 'not_found', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export const auditEntrySchema = z.object({
  audit_id: z.string(),
  at: z.string().describe('When, ISO 8601 UTC.'),
  actor_type: z.enum(['user', 'api_key', 'anonymous', 'cli']),
  actor_id: z.string().describe('User id, API key id, the login name tried, or `cli:<os user>`.'),
  actor_name: z.string().optional(),
  action: z
    .string()
    .describe('e.g. `auth.login`, `client.read`, `client.delete`, `api_key.rotate`.'),
  resource_type: z.string().optional(),
  resource_id: z.string().optional(),
  outcome: z.enum(AUDIT_OUTCOMES),
  ip: z.string().optional(),
  request_id: z.string().optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

interface AuditDoc extends Omit<AuditEntry, 'audit_id'> {
  _id: string;
}

export type AuditInput = Omit<AuditEntry, 'audit_id' | 'at'>;

export interface AuditQuery {
  actor_id?: string;
  action?: string;
  resource_type?: string;
  resource_id?: string;
  from?: string;
  to?: string;
  page: number;
  limit: number;
}

export class AuditLog {
  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private get entries() {
    return this.db.collection<AuditDoc>(COLLECTIONS.audit);
  }

  async record(input: AuditInput): Promise<void> {
    await this.entries.insertOne({
      _id: `au_${randomToken(16)}`,
      at: this.now().toISOString(),
      ...input,
    });
  }

  /** Newest first, id as tie-break. */
  async list(q: AuditQuery): Promise<{ items: AuditEntry[]; total: number }> {
    const filter: Record<string, unknown> = {};
    for (const key of ['actor_id', 'action', 'resource_type', 'resource_id'] as const) {
      if (q[key]) filter[key] = q[key];
    }
    if (q.from || q.to) {
      filter.at = { ...(q.from ? { $gte: q.from } : {}), ...(q.to ? { $lte: q.to } : {}) };
    }
    const [docs, total] = await Promise.all([
      this.entries
        .find(filter)
        .sort({ at: -1, _id: -1 })
        .skip((q.page - 1) * q.limit)
        .limit(q.limit)
        .toArray(),
      this.entries.countDocuments(filter),
    ]);
    return { items: docs.map(({ _id, ...rest }) => ({ audit_id: _id, ...rest })), total };
  }
}

/** Who a request's caller is, as the audit log names them. */
export function auditActor(
  principal: Principal | undefined,
): Pick<AuditEntry, 'actor_type' | 'actor_id' | 'actor_name'> {
  if (!principal) return { actor_type: 'anonymous', actor_id: 'anonymous' };
  return {
    actor_type: principal.kind === 'api_key' ? 'api_key' : 'user',
    actor_id: principal.id,
    actor_name: principal.name,
  };
}
