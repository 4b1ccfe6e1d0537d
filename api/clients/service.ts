/**
 * Clients: the people sessions are held with. Plain documents (no workflow): created, read,
 * updated and deleted here, with `client.created` published for webhooks.
 */
import type { Db } from 'mongodb';
import type { Bus } from '../../lib/bus';
import { ConflictError, NotFoundError } from '../../lib/errors';
import { eventId, publishEvent } from '../../lib/events';
import { newId } from '../../lib/ids';
import { COLLECTIONS, type ClientDoc, type SessionDoc } from '../../lib/store/collections';
import type { Client, CreateClientRequest, UpdateClientRequest } from '../../lib/schemas/client';
import type { Actor } from '../sessions/service';

export interface ClientDetails extends Client {
  session_count: { total: number; completed: number; scheduled: number };
}

const PUBLIC = { projection: { _id: 0 } } as const;

export class ClientService {
  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
  ) {}

  private get clients() {
    return this.db.collection<ClientDoc>(COLLECTIONS.clients);
  }

  async create(req: CreateClientRequest, actor: Actor): Promise<Client> {
    const now = new Date().toISOString();
    const client: Client = {
      client_id: newId('client'),
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
    await this.clients.insertOne({ _id: client.client_id, ...client });
    await publishEvent(this.bus, 'client', client.client_id, {
      event_id: eventId(client.client_id, 'client.created'),
      event: 'client.created',
      timestamp: now,
      data: { client_id: client.client_id, created_at: now, created_by: actor.name },
    });
    return client;
  }

  /** Newest first; `search` matches the start of a first or last name or the e-mail, ignoring case. */
  async list(
    search: string | undefined,
    page: number,
    limit: number,
  ): Promise<{ items: Client[]; total: number }> {
    const query = search
      ? {
          $or: ['first_name', 'last_name', 'email'].map((field) => ({
            [field]: { $regex: `(^|\\s)${escapeRegex(search.trim())}`, $options: 'i' },
          })),
        }
      : {};
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

  async get(clientId: string): Promise<ClientDetails> {
    const client = await this.find(clientId);
    const sessions = this.db.collection<SessionDoc>(COLLECTIONS.sessions);
    const [total, completed, scheduled] = await Promise.all([
      sessions.countDocuments({ client_id: clientId }),
      sessions.countDocuments({ client_id: clientId, status: 'completed' }),
      sessions.countDocuments({ client_id: clientId, status: 'scheduled' }),
    ]);
    return { ...client, session_count: { total, completed, scheduled } };
  }

  async update(clientId: string, req: UpdateClientRequest): Promise<ClientDetails> {
    await this.find(clientId);
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
    return this.get(clientId);
  }

  /** Refused while the client has sessions to come; past sessions stay as records. */
  async delete(clientId: string): Promise<void> {
    await this.find(clientId);
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
  }

  async find(clientId: string): Promise<Client> {
    const client = await this.clients.findOne({ _id: clientId }, PUBLIC);
    if (!client) throw new NotFoundError(`Client ${clientId} not found`);
    return client;
  }
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
