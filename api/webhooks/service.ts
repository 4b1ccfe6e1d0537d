/**
 * Webhook registrations: plain documents, created, listed, read and deleted here. Delivery is
 * the dispatcher's job; it reads these documents (and their `secret`) from the same collection.
 *
 * An owner with an `owner_id` sees and changes only its own webhooks; another owner's webhook
 * answers exactly as a missing one would, so ids cannot be probed. An owner without one (the
 * system, an administrator) sees them all.
 */
import type { Db, Filter } from 'mongodb';
import { NotFoundError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import { COLLECTIONS, type WebhookDoc } from '../../lib/store/collections';
import type {
  CreateWebhookRequest,
  CreateWebhookResponse,
  Webhook,
  WebhookList,
} from '../../lib/schemas/webhook';
import { pagination } from '../pagination';
import type { Actor } from '../access';

/**
 * The caller: `owner_id` is recorded on what it creates; `restrict_to`, when set, confines it to
 * webhooks of that owner (facilitators); absent, it sees every webhook (admins, system keys).
 */
export type WebhookOwner = Actor;

/** Never the secret, never the owner id: what a caller may see of a stored webhook. */
const PUBLIC = { projection: { _id: 0, secret: 0, owner_id: 0 } } as const;

/** 48 characters of [a-z0-9] ≈ 248 bits; the prefix tells a reader what the string is. */
const generateSecret = () => `whsec_${randomToken(48)}`;

export class WebhookService {
  constructor(private readonly db: Db) {}

  private get webhooks() {
    return this.db.collection<WebhookDoc>(COLLECTIONS.webhooks);
  }

  /** A generated secret is returned this once; a secret the caller chose is never echoed. */
  async create(req: CreateWebhookRequest, owner: WebhookOwner): Promise<CreateWebhookResponse> {
    const webhook: Webhook = {
      webhook_id: newId('webhook'),
      url: req.url,
      events: req.events,
      created_at: new Date().toISOString(),
      status: 'active',
      created_by: owner.name,
    };
    const secret = req.secret ?? generateSecret();
    await this.webhooks.insertOne({
      _id: webhook.webhook_id,
      ...webhook,
      ...(owner.owner_id !== undefined ? { owner_id: owner.owner_id } : {}),
      secret,
    });
    return req.secret === undefined ? { ...webhook, secret } : webhook;
  }

  /** Newest first, webhook id as tie-break, so pages are stable. */
  async list(page: number, limit: number, owner: WebhookOwner): Promise<WebhookList> {
    const query = this.scope(owner);
    const [webhooks, total] = await Promise.all([
      this.webhooks
        .find(query, PUBLIC)
        .sort({ created_at: -1, webhook_id: -1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .toArray(),
      this.webhooks.countDocuments(query),
    ]);
    return { webhooks, pagination: pagination(total, page, limit) };
  }

  /** @throws NotFoundError when there is no such webhook or it belongs to another owner. */
  async get(webhookId: string, owner: WebhookOwner): Promise<Webhook> {
    const webhook = await this.webhooks.findOne({ _id: webhookId, ...this.scope(owner) }, PUBLIC);
    if (!webhook) throw notFound(webhookId);
    return webhook;
  }

  /** @throws NotFoundError when there is no such webhook or it belongs to another owner. */
  async delete(webhookId: string, owner: WebhookOwner): Promise<void> {
    const { deletedCount } = await this.webhooks.deleteOne({
      _id: webhookId,
      ...this.scope(owner),
    });
    if (deletedCount === 0) throw notFound(webhookId);
  }

  private scope(owner: WebhookOwner): Filter<WebhookDoc> {
    return owner.restrict_to !== undefined ? { owner_id: owner.restrict_to } : {};
  }
}

const notFound = (webhookId: string) => new NotFoundError(`Webhook ${webhookId} not found`);
