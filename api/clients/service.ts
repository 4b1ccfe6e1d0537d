/**
 * Clients: the people sessions are held with. Plain documents (no workflow): created, read,
 * updated and deleted here, with `client.created` published for webhooks.
 */
import type { Db } from 'mongodb';
import type { Bus } from '../../lib/bus';
import { ConflictError, NotFoundError } from '../../lib/errors';
import { visibleTo, type Actor } from '../access';
import { eventId, publishEvent } from '../../lib/events';
import { newId } from '../../lib/ids';
import {
  COLLECTIONS,
  isDuplicateKey,
  type ClientDoc,
  type SessionDoc,
} from '../../lib/store/collections';
import type { Client, CreateClientRequest, UpdateClientRequest } from '../../lib/schemas/client';
import { exportClient, type ClientExport } from './export';

export interface ClientDetails extends Client {
  session_count: { total: number; completed: number; scheduled: number };
}

const PUBLIC = { projection: { _id: 0, owner_id: 0 } } as const;

/**
 * A client's e-mail is unique among one owner's clients. FerretDB has no partial indexes (and
 * most clients may have no e-mail), so uniqueness is a claim document keyed by `_id`.
 */
interface EmailClaim {
  _id: string;
  client_id: string;
}
const claimId = (ownerId: string | undefined, email: string) =>
  `${ownerId ?? '-'}\n${email.trim().toLowerCase()}`;

export class ClientService {
  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
  ) {}

  private get clients() {
    return this.db.collection<ClientDoc>(COLLECTIONS.clients);
  }

  private get emailClaims() {
    return this.db.collection<EmailClaim>(COLLECTIONS.clientEmails);
  }

  async create(req: CreateClientRequest, actor: Actor): Promise<Client> {
    const now = new Date().toISOString();
    const clientId = newId('client');
    if (req.email) await this.claimEmail(actor.owner_id, req.email, clientId);
    const client: Client = {
      client_id: clientId,
      first_name: req.first_name,
      last_name: req.last_name,
      ...(req.email ? { email: req.email } : {}),
      ...(req.phone ? { phone: req.phone } : {}),
      ...(req.date_of_birth ? { date_of_birth: req.date_of_birth } : {}),
      created_at: now,
      created_by: actor.name,
      updated_at: now,
      metadata: req.metadata,
    };
    await this.clients.insertOne({
      _id: client.client_id,
      ...client,
      ...(actor.owner_id ? { owner_id: actor.owner_id } : {}),
    });
    await publishEvent(this.bus, 'client', client.client_id, {
      event_id: eventId(client.client_id, 'client.created'),
      event: 'client.created',
      timestamp: now,
      data: { client_id: client.client_id, created_at: now, created_by: actor.name },
    });
    return client;
  }

  /**
   * Claims an e-mail for a client, or throws a 409. A claim whose client no longer holds that
   * e-mail (a crash between steps) is stale and taken over.
   */
  private async claimEmail(ownerId: string | undefined, email: string, clientId: string) {
    const _id = claimId(ownerId, email);
    try {
      await this.emailClaims.insertOne({ _id, client_id: clientId });
      return;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const claim = await this.emailClaims.findOne({ _id });
    const holder = claim && (await this.clients.findOne({ _id: claim.client_id }));
    if (holder?.email?.toLowerCase() === email.trim().toLowerCase() && holder._id !== clientId) {
      throw new ConflictError('A client with this email already exists', {
        field: 'email',
        reason: 'already in use',
      });
    }
    await this.emailClaims.updateOne({ _id }, { $set: { client_id: clientId } }, { upsert: true });
  }

  private async releaseEmail(ownerId: string | undefined, email: string, clientId: string) {
    await this.emailClaims.deleteOne({ _id: claimId(ownerId, email), client_id: clientId });
  }

  /** Newest first; `search` matches the start of a first or last name or the e-mail, ignoring case. */
  async list(
    search: string | undefined,
    page: number,
    limit: number,
    actor: Actor,
  ): Promise<{ items: Client[]; total: number }> {
    const query = {
      ...visibleTo(actor),
      ...(search
        ? {
            $or: ['first_name', 'last_name', 'email'].map((field) => ({
              [field]: { $regex: `(^|\\s)${escapeRegex(search.trim())}`, $options: 'i' },
            })),
          }
        : {}),
    };
    const [items, total] = await Promise.all([
      this.clients
        .find(query, PUBLIC)
        .sort({ created_at: -1, client_id: -1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .toArray(),
      this.clients.countDocuments(query),
    ]);
    return { items, total };
  }

  async get(clientId: string, actor: Actor): Promise<ClientDetails> {
    const client = await this.find(clientId, actor);
    const sessions = this.db.collection<SessionDoc>(COLLECTIONS.sessions);
    const [total, completed, scheduled] = await Promise.all([
      sessions.countDocuments({ client_id: clientId }),
      sessions.countDocuments({ client_id: clientId, status: 'completed' }),
      sessions.countDocuments({ client_id: clientId, status: 'scheduled' }),
    ]);
    return { ...client, session_count: { total, completed, scheduled } };
  }

  async update(clientId: string, req: UpdateClientRequest, actor: Actor): Promise<ClientDetails> {
    const current = await this.clients.findOne({ _id: clientId, ...visibleTo(actor) });
    if (!current) throw new NotFoundError(`Client ${clientId} not found`);
    const emailChanges =
      req.email !== undefined && req.email?.toLowerCase() !== current.email?.toLowerCase();
    if (emailChanges && req.email) await this.claimEmail(current.owner_id, req.email, clientId);
    const set: Record<string, unknown> = { updated_at: new Date().toISOString() };
    const unset: Record<string, ''> = {};
    for (const [key, value] of Object.entries(req)) {
      if (value === null) unset[key] = '';
      else set[key] = value;
    }
    await this.clients.updateOne(
      { _id: clientId },
      { $set: set, ...(Object.keys(unset).length ? { $unset: unset } : {}) },
    );
    if (emailChanges && current.email) {
      await this.releaseEmail(current.owner_id, current.email, clientId);
    }
    return this.get(clientId, actor);
  }

  /** Refused while the client has sessions to come; past sessions stay as records. */
  async delete(clientId: string, actor: Actor): Promise<void> {
    const client = await this.clients.findOne({ _id: clientId, ...visibleTo(actor) });
    if (!client) throw new NotFoundError(`Client ${clientId} not found`);
    const open = await this.db
      .collection<SessionDoc>(COLLECTIONS.sessions)
      .countDocuments({ client_id: clientId, status: { $in: ['scheduled', 'active'] } });
    if (open > 0) {
      throw new ConflictError(
        `Client has ${open} scheduled or active session(s); end or cancel them first`,
        {
          open_sessions: open,
        },
      );
    }
    await this.clients.deleteOne({ _id: clientId });
    if (client.email) await this.releaseEmail(client.owner_id, client.email, clientId);
  }

  /** Everything held about the client (the right of access). */
  export(clientId: string, actor: Actor): Promise<ClientExport> {
    return exportClient(this.db, clientId, actor);
  }

  /** The client if the actor may see it; otherwise not found, whether or not it exists. */
  async find(clientId: string, actor: Actor): Promise<Client> {
    const client = await this.clients.findOne({ _id: clientId, ...visibleTo(actor) }, PUBLIC);
    if (!client) throw new NotFoundError(`Client ${clientId} not found`);
    return client;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
