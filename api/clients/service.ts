/**
 * Clients: the people sessions are held with. Plain documents (no workflow): created, read,
 * updated and erased here, with `client.created` published for webhooks. Their personal fields
 * are stored encrypted (lib/crypto/fields.ts); search goes through blind indexes.
 */
import type { Db } from 'mongodb';
import type { FieldCrypto } from '../../lib/crypto/fields';
import type { Bus } from '../../lib/bus';
import { ConflictError, NotFoundError } from '../../lib/errors';
import { findVisible, visibleTo, type Actor } from '../access';
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
import { eraseClientData, type Eraser } from './erasure';
import { announceSessionChanged } from '../../lib/cache/notices';

export interface ClientDetails extends Client {
  session_count: { total: number; completed: number; scheduled: number };
}

const PUBLIC = { projection: { _id: 0, owner_id: 0, search_index: 0 } } as const;

/** A client as stored: sealed fields plus the blind indexes search uses. */
type StoredClient = ClientDoc & { search_index?: string[] };

/**
 * A client's e-mail is unique among one owner's clients. FerretDB has no partial indexes (and
 * most clients may have no e-mail), so uniqueness is a claim document keyed by `_id`: the owner
 * and the e-mail's blind index, so the claim does not hold the address itself.
 */
interface EmailClaim {
  _id: string;
  client_id: string;
}

export class ClientService {
  constructor(
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly fields: FieldCrypto,
    private readonly eraser: Eraser,
  ) {}

  private get clients() {
    return this.db.collection<StoredClient>(COLLECTIONS.clients);
  }

  private claimId(ownerId: string | undefined, email: string): string {
    return `${ownerId ?? '-'}\n${this.fields.emailIndex(email)}`;
  }

  /** The document to store for a client: sealed fields and their search index. */
  private stored(client: Client, ownerId: string | undefined): StoredClient {
    return {
      _id: client.client_id,
      ...this.fields.sealClient(client.client_id, client),
      ...(ownerId ? { owner_id: ownerId } : {}),
      search_index: this.fields.clientSearchIndex(client),
    };
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
    await this.clients.insertOne(this.stored(client, actor.owner_id));
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
    const _id = this.claimId(ownerId, email);
    try {
      await this.emailClaims.insertOne({ _id, client_id: clientId });
      return;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const claim = await this.emailClaims.findOne({ _id });
    const found = claim && (await this.clients.findOne({ _id: claim.client_id }));
    const holder = found && this.fields.openClient(found);
    if (holder?.email?.toLowerCase() === email.trim().toLowerCase() && holder._id !== clientId) {
      throw new ConflictError('A client with this email already exists', {
        field: 'email',
        reason: 'already in use',
      });
    }
    await this.emailClaims.updateOne({ _id }, { $set: { client_id: clientId } }, { upsert: true });
  }

  private async releaseEmail(ownerId: string | undefined, email: string, clientId: string) {
    await this.emailClaims.deleteOne({ _id: this.claimId(ownerId, email), client_id: clientId });
  }

  /**
   * Newest first; `search` matches the start of a first or last name's word or of the e-mail,
   * ignoring case and accents, through the blind indexes (the fields themselves are encrypted).
   */
  async list(
    search: string | undefined,
    page: number,
    limit: number,
    actor: Actor,
  ): Promise<{ items: Client[]; total: number }> {
    const terms = search === undefined ? undefined : this.fields.searchTerms(search);
    if (search !== undefined && !terms) return { items: [], total: 0 };
    const alternatives = terms
      ? [
          ...(terms.whole ? [{ search_index: terms.whole }] : []),
          ...(terms.words.length ? [{ search_index: { $all: terms.words } }] : []),
        ]
      : [];
    const query = {
      ...visibleTo(actor),
      ...(alternatives.length ? { $or: alternatives } : {}),
    };
    const [docs, total] = await Promise.all([
      this.clients
        .find(query, PUBLIC)
        .sort({ created_at: -1, client_id: -1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .toArray(),
      this.clients.countDocuments(query),
    ]);
    return { items: docs.map((d) => this.fields.openClient(d)), total };
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
    const found = await findVisible(this.clients, clientId, actor);
    if (!found) throw new NotFoundError(`Client ${clientId} not found`);
    const current = this.fields.openClient(found);
    const emailChanges =
      req.email !== undefined && req.email?.toLowerCase() !== current.email?.toLowerCase();
    if (emailChanges && req.email) await this.claimEmail(current.owner_id, req.email, clientId);
    const set: Record<string, unknown> = { updated_at: new Date().toISOString() };
    const unset: Record<string, ''> = {};
    for (const [key, value] of Object.entries(req)) {
      if (value === null) unset[key] = '';
      else set[key] = value;
    }
    // The search index follows the names and e-mail as they will be.
    const next = { ...current, ...set } as Client;
    for (const key of Object.keys(unset)) delete (next as Record<string, unknown>)[key];
    await this.clients.updateOne(
      { _id: clientId },
      {
        $set: {
          ...this.fields.sealClient(clientId, set),
          search_index: this.fields.clientSearchIndex(next),
        },
        ...(Object.keys(unset).length ? { $unset: unset } : {}),
      },
    );
    if (emailChanges && current.email) {
      await this.releaseEmail(current.owner_id, current.email, clientId);
    }
    return this.get(clientId, actor);
  }

  /**
   * The right to erasure: the client's sessions are stopped and their workflows deleted, then
   * transcripts, notes, analyses, sessions and series go, and the client record last — so a
   * DELETE that fails part-way can simply be repeated.
   */
  async delete(clientId: string, actor: Actor): Promise<{ sessions: number; series: number }> {
    const found = await findVisible(this.clients, clientId, actor);
    if (!found) throw new NotFoundError(`Client ${clientId} not found`);
    const client = this.fields.openClient(found);
    const erased = await eraseClientData(this.db, this.eraser, clientId, (sessionId) =>
      announceSessionChanged(this.bus.nc, sessionId),
    );
    await this.clients.deleteOne({ _id: clientId });
    if (client.email) await this.releaseEmail(client.owner_id, client.email, clientId);
    return erased;
  }

  /** Everything held about the client (the right of access). */
  export(clientId: string, actor: Actor): Promise<ClientExport> {
    return exportClient(this.db, this.fields, clientId, actor);
  }

  /** The client if the actor may see it; otherwise not found, whether or not it exists. */
  async find(clientId: string, actor: Actor): Promise<Client> {
    const client = await findVisible(this.clients, clientId, actor, PUBLIC.projection);
    if (!client) throw new NotFoundError(`Client ${clientId} not found`);
    return this.fields.openClient(client);
  }
}
