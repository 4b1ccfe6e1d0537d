/**
 * The audit log: who did what to which resource, when, from where, and how it ended. Entries
 * name people and resources by id and never hold secrets (passwords, tokens, keys) or what a
 * client said: an action and an outcome, not content.
 *
 * An entry is published to the JetStream stream `SS_AUDIT` before the answer leaves (durable in
 * well under a millisecond, so an answered request is on record even if the process dies next),
 * and written to MongoDB in batches by the API instances' shared consumer: a database insert on
 * every audited read would halve the read path on FerretDB.
 */
import type { Db } from 'mongodb';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type ConsumerMessages,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { publishJson, type Bus } from './bus';
import { isDuplicateKey } from './store/collections';
import type { Logger } from './log';
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

export const AUDIT_STREAM = 'SS_AUDIT';
export const AUDIT_SUBJECT_ROOT = 'ss.audit';
const BATCH = 200;

export class AuditLog {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    /** Without a bus (the CLI), entries are inserted directly. */
    private readonly bus?: Bus,
    private readonly log?: Logger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private get entries() {
    return this.db.collection<AuditDoc>(COLLECTIONS.audit);
  }

  /**
   * Entries travel under their database's name, and each database has its own writer: stacks
   * sharing a NATS server (tests, staging beside production) never write into each other's log.
   */
  private get subjectRoot(): string {
    return `${AUDIT_SUBJECT_ROOT}.${this.db.databaseName}`;
  }

  async record(input: AuditInput): Promise<void> {
    const doc: AuditDoc = { _id: `au_${randomToken(16)}`, at: this.now().toISOString(), ...input };
    if (!this.bus) {
      await this.entries.insertOne(doc);
      return;
    }
    await publishJson(this.bus, `${this.subjectRoot}.${input.action}`, doc._id, doc);
  }

  private get writer(): string {
    return `audit-writer-${this.db.databaseName}`;
  }

  /** Creates the stream and its consumer if needed, and starts writing entries to MongoDB. */
  async start(): Promise<void> {
    if (!this.bus) return;
    const { jsm, js } = this.bus;
    try {
      await jsm.streams.info(AUDIT_STREAM);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound))
        throw err;
      await jsm.streams
        .add({
          name: AUDIT_STREAM,
          subjects: [`${AUDIT_SUBJECT_ROOT}.>`],
          storage: StorageType.File,
          // MongoDB is the record; the stream only carries entries until they are written.
          retention: RetentionPolicy.Workqueue,
          duplicate_window: nanos(120_000),
        })
        .catch(async (addErr: unknown) => {
          // Another instance created it first.
          await jsm.streams.info(AUDIT_STREAM).catch(() => {
            throw addErr;
          });
        });
    }
    await jsm.consumers
      .add(AUDIT_STREAM, {
        durable_name: this.writer,
        filter_subject: `${this.subjectRoot}.>`,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(30_000),
        max_ack_pending: 5_000,
      })
      .catch(async (err: unknown) => {
        await jsm.consumers.info(AUDIT_STREAM, this.writer).catch(() => {
          throw err;
        });
      });
    const consumer = await js.consumers.get(AUDIT_STREAM, this.writer);
    this.messages = await consumer.consume({ max_messages: BATCH });
    this.loop = this.write(this.messages);
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop;
  }

  /** Writes what has arrived in one insert, then acknowledges it; a failed batch comes back. */
  private async write(messages: ConsumerMessages): Promise<void> {
    let batch: { doc: AuditDoc; ack: () => void; nak: () => void }[] = [];
    const flush = async () => {
      const taken = batch;
      batch = [];
      try {
        await this.entries.insertMany(
          taken.map((t) => t.doc),
          { ordered: false },
        );
      } catch (err) {
        // Entries written by an earlier attempt are duplicates of themselves: that is fine.
        if (!isDuplicateKey(err)) {
          this.log?.warn({ err }, 'audit entries not written yet; retrying');
          for (const t of taken) t.nak();
          return;
        }
      }
      for (const t of taken) t.ack();
    };
    for await (const msg of messages) {
      try {
        batch.push({ doc: msg.json<AuditDoc>(), ack: () => msg.ack(), nak: () => msg.nak(1000) });
      } catch {
        msg.term();
        continue;
      }
      // Write once nothing more is waiting, or the batch is full.
      if (batch.length >= BATCH || messages.getPending() === 0) await flush();
    }
    if (batch.length) await flush();
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
