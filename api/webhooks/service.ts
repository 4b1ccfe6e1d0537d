/**
 * Webhook registrations: plain documents, created, listed, read and deleted here. Delivery is
 * the dispatcher's job (workers/webhook-dispatcher.ts); it reads these documents (and their
 * `secret`) from the same collection. Here: the delivery log, redelivery (queued for the
 * dispatcher) and ping (sent at once, from this process).
 *
 * The API never updates a webhook document (only creates and deletes it): its status and failure
 * count have one writer, the dispatcher holding the webhook's lease.
 *
 * An owner with an `owner_id` sees and changes only its own webhooks; another owner's webhook
 * answers exactly as a missing one would, so ids cannot be probed. An owner without one (the
 * system, an administrator) sees them all.
 */
import type { Db } from 'mongodb';
import { SECRET_AAD, type FieldCrypto } from '../../lib/crypto/fields';
import { ConflictError, NotFoundError, ValidationError } from '../../lib/errors';
import { newId, randomToken } from '../../lib/ids';
import { configSchema } from '../../lib/config';
import {
  COLLECTIONS,
  type WebhookDeliveryDoc,
  type WebhookDoc,
  type WebhookTaskDoc,
} from '../../lib/store/collections';
import type {
  CreateWebhookRequest,
  CreateWebhookResponse,
  Redelivery,
  Webhook,
  WebhookDelivery,
  WebhookDeliveryList,
  WebhookList,
  WebhookPayload,
} from '../../lib/schemas/webhook';
import { ForbiddenAddressError } from '../../lib/webhooks/address-guard';
import { Deliverer, type WebhookSettings } from '../../lib/webhooks/deliver';
import { findTask, recordAttempt } from '../../lib/webhooks/tasks';
import { pagination } from '../pagination';
import { findVisible, visibleTo, type Actor } from '../access';

/**
 * The caller: `owner_id` is recorded on what it creates; `restrict_to`, when set, confines it to
 * webhooks of that owner (facilitators); absent, it sees every webhook (admins, system keys).
 */
export type WebhookOwner = Actor;

/** Never the secret, never the owner id: what a caller may see of a stored webhook. */
const PUBLIC = { projection: { _id: 0, secret: 0, owner_id: 0, restricted_to: 0 } } as const;

/** 48 characters of [a-z0-9] ≈ 248 bits; the prefix tells a reader what the string is. */
const generateSecret = () => `whsec_${randomToken(48)}`;

const DELIVERY_PUBLIC = { projection: { _id: 0, task_id: 0 } } as const;

export class WebhookService {
  private readonly deliverer: Deliverer;

  /** `settings` default to the configuration's defaults (no private hosts allowed). */
  constructor(
    private readonly db: Db,
    private readonly fields: FieldCrypto,
    settings: WebhookSettings = configSchema.shape.webhooks.parse(undefined),
  ) {
    this.deliverer = new Deliverer(settings);
  }

  private get webhooks() {
    return this.db.collection<WebhookDoc>(COLLECTIONS.webhooks);
  }

  private get deliveries() {
    return this.db.collection<WebhookDeliveryDoc>(COLLECTIONS.webhookDeliveries);
  }

  private get tasks() {
    return this.db.collection<WebhookTaskDoc>(COLLECTIONS.webhookTasks);
  }

  /**
   * A generated secret is returned this once; a secret the caller chose is never echoed.
   * @throws ValidationError (field `url`) when the URL's host is a private address not allow-listed.
   */
  async create(req: CreateWebhookRequest, owner: WebhookOwner): Promise<CreateWebhookResponse> {
    try {
      await this.deliverer.guard.check(req.url);
    } catch (err) {
      if (!(err instanceof ForbiddenAddressError)) throw err;
      throw new ValidationError(`Invalid body: url: ${err.message}`, {
        field: 'url',
        reason: err.message,
      });
    }
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
      ...(owner.restrict_to !== undefined ? { restricted_to: owner.restrict_to } : {}),
      // Kept recoverable (deliveries are signed with it) but encrypted at rest.
      secret: this.fields.sealSecret(SECRET_AAD.webhook(webhook.webhook_id), secret),
    });
    return req.secret === undefined ? { ...webhook, secret } : webhook;
  }

  /** Newest first, webhook id as tie-break, so pages are stable. */
  async list(page: number, limit: number, owner: WebhookOwner): Promise<WebhookList> {
    const query = visibleTo(owner);
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
    const webhook = await findVisible(this.webhooks, webhookId, owner, PUBLIC.projection);
    if (!webhook) throw notFound(webhookId);
    return webhook;
  }

  /** @throws NotFoundError when there is no such webhook or it belongs to another owner. */
  async delete(webhookId: string, owner: WebhookOwner): Promise<void> {
    const { deletedCount } = await this.webhooks.deleteOne({
      _id: webhookId,
      ...visibleTo(owner),
    });
    if (deletedCount === 0) throw notFound(webhookId);
  }

  /** Attempts, newest first (delivery id as tie-break). */
  async listDeliveries(
    webhookId: string,
    page: number,
    limit: number,
    owner: WebhookOwner,
  ): Promise<WebhookDeliveryList> {
    await this.get(webhookId, owner);
    const query = { webhook_id: webhookId };
    const [deliveries, total] = await Promise.all([
      this.deliveries
        .find(query, DELIVERY_PUBLIC)
        .sort({ started_at: -1, _id: -1 })
        .skip((page - 1) * limit)
        .limit(limit)
        .toArray(),
      this.deliveries.countDocuments(query),
    ]);
    return { deliveries, pagination: pagination(total, page, limit) };
  }

  /**
   * Queues the event of an earlier attempt to be sent again, as a delivery of its own that waits
   * for nothing (a dispatcher sends it within its poll interval).
   * @throws NotFoundError for an unknown webhook or delivery; ConflictError when disabled.
   */
  async redeliver(webhookId: string, deliveryId: string, owner: WebhookOwner): Promise<Redelivery> {
    const webhook = await this.get(webhookId, owner);
    const attempt = await this.deliveries.findOne({ _id: deliveryId, webhook_id: webhookId });
    const task = attempt && (await findTask(this.db, attempt.task_id));
    if (!attempt || !task) {
      throw new NotFoundError(`Delivery ${deliveryId} of webhook ${webhookId} not found`);
    }
    if (webhook.status === 'disabled') {
      throw new ConflictError(`Webhook ${webhookId} is disabled`, { status: webhook.status });
    }
    const id = `${webhookId}:${task.event_id}:r_${randomToken(12)}`;
    await this.tasks.insertOne({
      _id: id,
      webhook_id: webhookId,
      event_id: task.event_id,
      event: task.event,
      trigger: 'redeliver',
      order_key: id,
      ...(task.subject ? { subject: task.subject } : {}),
      seq: 0,
      // Sealed payloads are bound to their task: opened from the old one, sealed for the new.
      payload: this.fields.sealPayload(
        id,
        this.fields.openPayload(task._id, task.payload),
      ) as WebhookPayload,
      state: 'pending',
      attempts: 0,
      due_at: Date.now(),
      created_at: new Date().toISOString(),
    });
    return { webhook_id: webhookId, event_id: task.event_id, event: task.event, status: 'queued' };
  }

  /** Sends a `ping` event now, from this process, and answers with the attempt. */
  async ping(webhookId: string, owner: WebhookOwner): Promise<WebhookDelivery> {
    await this.get(webhookId, owner);
    const webhook = await this.webhooks.findOne({ _id: webhookId });
    if (!webhook) throw notFound(webhookId);
    const eventId = `evt_${randomToken(24)}`;
    const payload: WebhookPayload = {
      event: 'ping',
      timestamp: new Date().toISOString(),
      data: { webhook_id: webhookId, events: webhook.events },
    };
    const result = await this.deliverer.attempt(
      { ...webhook, secret: this.fields.openSecret(SECRET_AAD.webhook(webhookId), webhook.secret) },
      eventId,
      payload,
    );
    const task: WebhookTaskDoc = {
      _id: `${webhookId}:${eventId}`,
      webhook_id: webhookId,
      event_id: eventId,
      event: 'ping',
      trigger: 'ping',
      order_key: `${webhookId}:${eventId}`,
      seq: 0,
      payload: this.fields.sealPayload(`${webhookId}:${eventId}`, payload) as WebhookPayload,
      state: result.success ? 'delivered' : 'failed',
      attempts: 1,
      due_at: Date.now(),
      created_at: result.started_at,
      ...(result.success ? { delivered_at: result.completed_at } : {}),
      ...(result.error ? { last_error: result.error } : {}),
    };
    await this.db.collection<WebhookTaskDoc>(COLLECTIONS.webhookTasksDone).insertOne(task);
    return recordAttempt(this.db, task, 1, result);
  }
}

const notFound = (webhookId: string) => new NotFoundError(`Webhook ${webhookId} not found`);
