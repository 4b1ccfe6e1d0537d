/**
 * The webhook dispatcher: takes lifecycle events off JetStream and delivers them, signed, to
 * the webhooks subscribed to them, retrying for hours without holding anything else up.
 *
 * Two halves, joined by the `webhook_tasks` collection (an outbox):
 *
 * - **Intake.** A durable pull consumer, shared by every dispatcher process (one name, so each
 *   event goes to one of them), explicit acks. For an event it inserts one task per subscribed
 *   webhook, `_id` = `<webhook_id>:<event_id>`, and only then acks. A crash before the ack gets
 *   the event handed out again after `ack_wait`; the insert is then a duplicate key and the task
 *   (pending, or already delivered) is left as it is — nothing lost, nothing queued twice.
 *
 * - **Delivery.** A process works a webhook's tasks only while it holds that webhook's lease (an
 *   insert-only claim in `webhook_leases`), so each task and the webhook's failure count have a
 *   single writer. Tasks of one (webhook, entity) — a session's events — go one at a time in
 *   stream order: a later one waits while an earlier one is retried. Different sessions and
 *   different webhooks proceed independently. A task is sent only once every event up to its
 *   stream sequence has been taken in (the consumer's ack floor), so an earlier event still in
 *   another process's intake cannot be overtaken. A 2xx marks the task delivered before anything
 *   else happens, so a restart never sends it again.
 */
import { SECRET_AAD, type FieldCrypto } from '../crypto/fields';
import type { Db } from 'mongodb';
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerMessages,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { EVENTS_SUBJECT_ROOT, eventSubject, publishJson, type Bus } from '../bus';
import { eventId as deterministicEventId } from '../events';
import type { Logger } from '../log';
import { ConfigError } from '../config';
import {
  COLLECTIONS,
  isDuplicateKey,
  type WebhookDoc,
  type WebhookLeaseDoc,
  type WebhookTaskDoc,
} from '../store/collections';
import {
  WEBHOOK_EVENT_NAMES,
  subscriptionsMatching,
  type WebhookPayload,
  type WebhookStatus,
} from '../schemas/webhook';
import { Deliverer, retryDelayMs, type AttemptResult, type WebhookSettings } from './deliver';
import { finishTask, recordAttempt } from './tasks';
import { observeDelivery, type WebhookMetrics } from '../metrics/webhooks';

const DELIVERABLE = new Set<string>(WEBHOOK_EVENT_NAMES);
/** Sessions of one webhook sent to at once by the process holding its lease. */
const PER_WEBHOOK_PARALLELISM = 8;
/** Tasks of one webhook read per round. */
const ROUND_READ = 1000;
const PRUNE_EVERY_MS = 10 * 60_000;

export interface DispatcherDeps {
  db: Db;
  bus: Bus;
  /** Seals queued payloads (they carry messages and notes) and opens webhook secrets. */
  fields: FieldCrypto;
  settings: WebhookSettings;
  log: Logger;
  /** Names this process in leases. */
  identity: string;
  /** Counts and times every delivery attempt. */
  metrics?: WebhookMetrics;
}

export class WebhookDispatcher {
  private readonly deliverer: Deliverer;
  private messages?: ConsumerMessages;
  private intake?: Promise<void>;
  private loop?: Promise<void>;
  private running = false;
  /** Set by a wake-up that came while the scheduler was busy: it then runs again at once. */
  private woken = false;
  private endWait: () => void = () => undefined;
  /** Webhooks this process is delivering to now, by id. */
  private readonly working = new Map<string, Promise<void>>();
  private watermark = 0;

  constructor(private readonly deps: DispatcherDeps) {
    const { lease_seconds, request_timeout_seconds } = deps.settings;
    // A lease must outlive the attempts made under it, or another process could take over mid-send.
    if (lease_seconds < request_timeout_seconds + 1) {
      throw new ConfigError(
        'invalid configuration: webhooks.lease_seconds: must exceed webhooks.request_timeout_seconds by at least 1',
      );
    }
    this.deliverer = new Deliverer(deps.settings);
  }

  private get tasks() {
    return this.deps.db.collection<WebhookTaskDoc>(COLLECTIONS.webhookTasks);
  }
  private get webhooks() {
    return this.deps.db.collection<WebhookDoc>(COLLECTIONS.webhooks);
  }
  private get leases() {
    return this.deps.db.collection<WebhookLeaseDoc>(COLLECTIONS.webhookLeases);
  }

  async start(): Promise<void> {
    await this.ensureConsumer();
    const consumer = await this.deps.bus.js.consumers.get(
      this.deps.bus.stream,
      this.deps.settings.consumer,
    );
    this.watermark = (await consumer.info()).ack_floor.stream_seq;
    this.messages = await consumer.consume({ max_messages: 100 });
    this.running = true;
    this.intake = this.runIntake(this.messages);
    this.loop = this.runScheduler();
  }

  /** Stops taking events, lets the deliveries in flight finish, and gives up the leases. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.messages?.close();
    this.wake();
    await Promise.allSettled([this.intake, this.loop]);
    await Promise.allSettled([...this.working.values()]);
  }

  /**
   * The shared durable consumer, created on first start from new events on (a first deploy does
   * not replay the stream's history to webhooks), brought up to the configured ack wait after.
   */
  private async ensureConsumer(): Promise<void> {
    const { jsm, stream } = this.deps.bus;
    const { consumer, ack_wait_seconds } = this.deps.settings;
    const cfg = {
      ack_wait: nanos(ack_wait_seconds * 1000),
      // Intake is a few database writes per event: enough in flight to keep several processes busy.
      max_ack_pending: 1000,
      max_deliver: -1,
    };
    try {
      await jsm.consumers.info(stream, consumer);
      await jsm.consumers.update(stream, consumer, cfg);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound))
        throw err;
      try {
        await jsm.consumers.add(stream, {
          durable_name: consumer,
          filter_subject: `${EVENTS_SUBJECT_ROOT}.>`,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.New,
          ...cfg,
        });
      } catch (addErr) {
        // Another dispatcher created it first.
        await jsm.consumers.info(stream, consumer).catch(() => {
          throw addErr;
        });
      }
    }
  }

  private async runIntake(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      try {
        await this.take(msg);
        // Confirmed, so the ack floor read by the scheduler covers this event's tasks.
        await msg.ackAck();
        this.wake();
      } catch (err) {
        this.deps.log.warn({ err, subject: msg.subject }, 'webhook intake failed; retrying');
        msg.nak(1000);
      }
    }
  }

  /** Queues the event for every webhook subscribed to it (idempotently). */
  private async take(msg: JsMsg): Promise<void> {
    let evt: { event_id?: unknown; event?: unknown; timestamp?: unknown; data?: unknown };
    try {
      evt = msg.json();
    } catch {
      return;
    }
    if (typeof evt.event !== 'string' || typeof evt.event_id !== 'string') return;
    if (!DELIVERABLE.has(evt.event)) return;
    // ss.events.<entity>.<id>.<event>: ordering is per webhook and entity (a session, a client).
    const [, , entity, entityId] = msg.subject.split('.');
    const subscribed = await this.webhooks
      .find(
        {
          status: { $in: ['active', 'failing'] },
          events: { $in: subscriptionsMatching(evt.event) },
        },
        { projection: { _id: 1, restricted_to: 1 } },
      )
      .toArray();
    // A facilitator's webhook hears only about its owner's sessions and clients.
    const owner = subscribed.some((w) => w.restricted_to !== undefined)
      ? await this.ownerOf(entity, entityId)
      : undefined;
    const webhooks = subscribed.filter(
      (w) => w.restricted_to === undefined || w.restricted_to === owner,
    );
    const payload: WebhookPayload = {
      event: evt.event,
      timestamp: String(evt.timestamp),
      data: evt.data,
    };
    const now = Date.now();
    for (const { _id: webhookId } of webhooks) {
      try {
        await this.tasks.insertOne({
          _id: `${webhookId}:${evt.event_id}`,
          webhook_id: webhookId,
          event_id: evt.event_id,
          event: evt.event,
          trigger: 'event',
          order_key: `${webhookId}:${entity}.${entityId}`,
          subject: `${entity}.${entityId}`,
          seq: msg.info.streamSequence,
          payload: this.deps.fields.sealPayload(
            `${webhookId}:${evt.event_id}`,
            payload,
          ) as WebhookPayload,
          state: 'pending',
          attempts: 0,
          due_at: now,
          created_at: new Date(now).toISOString(),
        });
      } catch (err) {
        if (!isDuplicateKey(err)) throw err;
      }
    }
  }

  /**
   * No TTL indexes on FerretDB: finished tasks and attempts past the retention are deleted here
   * (by every dispatcher now and then; deleting twice is harmless). Pending tasks are kept.
   */
  private async prune(): Promise<void> {
    const cutoff = Date.now() - this.deps.settings.retention_days * 86_400_000;
    const iso = new Date(cutoff).toISOString();
    await this.tasks.deleteMany({
      state: { $in: ['delivered', 'failed'] },
      created_at: { $lt: iso },
    });
    await this.deps.db
      .collection(COLLECTIONS.webhookTasksDone)
      .deleteMany({ created_at: { $lt: iso } });
    await this.deps.db
      .collection(COLLECTIONS.webhookDeliveries)
      .deleteMany({ started_at: { $lt: iso } });
  }

  private async ownerOf(entity?: string, entityId?: string): Promise<string | undefined> {
    const collection =
      entity === 'session' ? COLLECTIONS.sessions : entity === 'client' ? COLLECTIONS.clients : '';
    if (!collection || !entityId) return undefined;
    const doc = await this.deps.db
      .collection<{ _id: string; owner_id?: string }>(collection)
      .findOne({ _id: entityId }, { projection: { owner_id: 1 } });
    return doc?.owner_id;
  }

  private async runScheduler(): Promise<void> {
    let prunedAt = 0;
    while (this.running) {
      try {
        await this.schedule();
        if (Date.now() - prunedAt > PRUNE_EVERY_MS) {
          prunedAt = Date.now();
          await this.prune();
        }
      } catch (err) {
        this.deps.log.warn({ err }, 'webhook scheduling failed');
      }
      if (this.woken) {
        this.woken = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.deps.settings.poll_interval_ms);
        this.endWait = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.woken = false;
    }
  }

  private wake(): void {
    this.woken = true;
    this.endWait();
  }

  /** Starts work on webhooks with due tasks, as far as the concurrency allows. */
  private async schedule(): Promise<void> {
    await this.refreshWatermark();
    const due = await this.tasks
      .find(
        { state: 'pending', due_at: { $lte: Date.now() }, seq: { $lte: this.watermark } },
        { projection: { webhook_id: 1 } },
      )
      .limit(ROUND_READ)
      .toArray();
    for (const webhookId of new Set(due.map((t) => t.webhook_id))) {
      if (!this.running || this.working.size >= this.deps.settings.concurrency) break;
      if (this.working.has(webhookId) || !(await this.acquire(webhookId))) continue;
      const work = this.work(webhookId)
        .catch((err: unknown) => {
          this.deps.log.warn({ err, webhookId }, 'webhook delivery failed');
          return false;
        })
        .then(async (delivered) => {
          await this.release(webhookId).catch(() => undefined);
          this.working.delete(webhookId);
          // Only after progress: a webhook whose sessions all wait for a retry is looked at again
          // at the next poll, not in a tight loop.
          if (delivered) this.wake();
        });
      this.working.set(webhookId, work);
    }
  }

  private async refreshWatermark(): Promise<void> {
    const { jsm, stream } = this.deps.bus;
    const info = await jsm.consumers.info(stream, this.deps.settings.consumer);
    this.watermark = info.ack_floor.stream_seq;
  }

  /**
   * Delivers a webhook's due tasks, round after round, while it holds the lease. A round takes
   * each session's due tasks in order and sends them one after another (up to its first failure:
   * later ones wait for it), PER_WEBHOOK_PARALLELISM sessions at a time, so one read of what is
   * pending serves many deliveries.
   */
  private async work(webhookId: string): Promise<boolean> {
    let delivered = false;
    while (this.running) {
      if (!(await this.renew(webhookId))) return delivered;
      let renewedAt = Date.now();
      const webhook = await this.webhooks.findOne({ _id: webhookId });
      if (!webhook || webhook.status === 'disabled') {
        await this.abandon(webhookId, webhook ? 'webhook disabled' : 'webhook deleted');
        return delivered;
      }
      const pending = await this.tasks
        .find({ webhook_id: webhookId, state: 'pending' })
        .sort({ seq: 1, created_at: 1 })
        .limit(ROUND_READ)
        .toArray();
      // Each session's tasks in order, up to its first one that is not due yet.
      const chains = new Map<string, WebhookTaskDoc[]>();
      const waiting = new Set<string>();
      const now = Date.now();
      for (const t of pending) {
        if (waiting.has(t.order_key)) continue;
        if (t.due_at > now || t.seq > this.watermark) {
          waiting.add(t.order_key);
          continue;
        }
        const chain = chains.get(t.order_key);
        if (chain) chain.push(t);
        else chains.set(t.order_key, [t]);
      }
      if (chains.size === 0) return delivered;
      delivered = true;

      let failures = webhook.consecutive_failures ?? 0;
      let leaseLost = false;
      let renewing: Promise<boolean> | undefined;
      // The lease must outlive every attempt: renewed whenever a third of it has passed.
      const holdLease = (): Promise<boolean> | boolean => {
        if (leaseLost) return false;
        if (Date.now() - renewedAt < (this.deps.settings.lease_seconds * 1000) / 3) return true;
        renewing ??= this.renew(webhookId).then((held) => {
          renewedAt = Date.now();
          renewing = undefined;
          if (!held) leaseLost = true;
          return held;
        });
        return renewing;
      };
      const queue = [...chains.values()];
      const sendChains = async () => {
        for (let chain = queue.shift(); chain; chain = queue.shift()) {
          for (const task of chain) {
            if (!this.running || !(await holdLease())) return;
            const ok = await this.deliver(webhook, task);
            failures = ok ? 0 : failures + 1;
            if (!ok) break;
          }
        }
      };
      await Promise.all(Array.from({ length: PER_WEBHOOK_PARALLELISM }, sendChains));
      if (leaseLost) return delivered;
      if (await this.settle(webhook, failures)) return delivered;
      await this.refreshWatermark();
    }
    return delivered;
  }

  /** One attempt of one task; the task's new state is written before anything else. */
  private async deliver(webhook: WebhookDoc, task: WebhookTaskDoc): Promise<boolean> {
    // Finished already, by an attempt that died between copying and deleting the task.
    const done = await this.deps.db
      .collection<WebhookTaskDoc>(COLLECTIONS.webhookTasksDone)
      .findOne({ _id: task._id }, { projection: { _id: 1 } });
    if (done) {
      await this.tasks.deleteOne({ _id: task._id });
      return true;
    }
    const { fields } = this.deps;
    const result: AttemptResult = await this.deliverer.attempt(
      { ...webhook, secret: fields.openSecret(SECRET_AAD.webhook(webhook._id), webhook.secret) },
      task.event_id,
      fields.openPayload<WebhookPayload>(task._id, task.payload),
    );
    const attempt = task.attempts + 1;
    if (result.success) {
      observeDelivery(this.deps.metrics, 'delivered', result.duration_ms);
      await finishTask(this.deps.db, {
        ...task,
        state: 'delivered',
        attempts: attempt,
        delivered_at: result.completed_at,
      });
      await recordAttempt(this.deps.db, task, attempt, result);
      return true;
    }
    const nextAt = Date.now() + retryDelayMs(this.deps.settings, attempt);
    // Given up when the next attempt would come later than the maximum age allows.
    const expired = nextAt - Date.parse(task.created_at) > this.maxAgeMs();
    const lastError = result.error ?? 'failed';
    observeDelivery(this.deps.metrics, expired ? 'abandoned' : 'failed', result.duration_ms);
    if (expired) {
      await finishTask(this.deps.db, {
        ...task,
        state: 'failed',
        attempts: attempt,
        last_error: lastError,
      });
    } else {
      await this.tasks.updateOne(
        { _id: task._id },
        { $set: { attempts: attempt, last_error: lastError, due_at: nextAt } },
      );
    }
    await recordAttempt(this.deps.db, task, attempt, result, expired ? undefined : nextAt);
    return false;
  }

  private maxAgeMs(): number {
    return this.deps.settings.retry.max_age_hours * 3_600_000;
  }

  /**
   * Records the run of failures and the status it implies; on disabling, gives up the pending
   * tasks and announces it. Returns true when the webhook was disabled.
   */
  private async settle(webhook: WebhookDoc, failures: number): Promise<boolean> {
    const { failing_after, disable_after } = this.deps.settings;
    const status: WebhookStatus =
      failures >= disable_after ? 'disabled' : failures >= failing_after ? 'failing' : 'active';
    if (failures === (webhook.consecutive_failures ?? 0) && status === webhook.status) return false;
    const disabledAt = new Date().toISOString();
    await this.webhooks.updateOne(
      { _id: webhook._id },
      {
        $set: {
          consecutive_failures: failures,
          status,
          ...(status === 'disabled' ? { disabled_at: disabledAt } : {}),
        },
      },
    );
    webhook.consecutive_failures = failures;
    webhook.status = status;
    if (status !== 'disabled') return false;
    this.deps.log.warn({ webhookId: webhook._id, failures }, 'webhook disabled');
    await this.abandon(webhook._id, 'webhook disabled');
    const eventId = deterministicEventId(webhook._id, 'webhook.disabled', disabledAt);
    await publishJson(
      this.deps.bus,
      eventSubject('webhook', webhook._id, 'webhook.disabled'),
      eventId,
      {
        event_id: eventId,
        event: 'webhook.disabled',
        timestamp: disabledAt,
        data: {
          webhook_id: webhook._id,
          url: webhook.url,
          consecutive_failures: failures,
          disabled_at: disabledAt,
        },
      },
    );
    return true;
  }

  /** Pending tasks of a webhook that will not be delivered; they can still be redelivered. */
  private async abandon(webhookId: string, reason: string): Promise<void> {
    await this.tasks.updateMany(
      { webhook_id: webhookId, state: 'pending' },
      { $set: { state: 'failed', last_error: reason } },
    );
  }

  // Leases: an insert claims (unique `_id`); only the holder renews or releases; an expired one
  // may be removed by anyone, then claimed by whoever inserts first.

  private async acquire(webhookId: string): Promise<boolean> {
    const claim = () =>
      this.leases.insertOne({
        _id: webhookId,
        owner: this.deps.identity,
        expires_at: Date.now() + this.deps.settings.lease_seconds * 1000,
      });
    try {
      await claim();
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
    const { deletedCount } = await this.leases.deleteOne({
      _id: webhookId,
      expires_at: { $lt: Date.now() },
    });
    if (deletedCount === 0) return false;
    try {
      await claim();
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  private async renew(webhookId: string): Promise<boolean> {
    const { matchedCount } = await this.leases.updateOne(
      { _id: webhookId, owner: this.deps.identity, expires_at: { $gte: Date.now() } },
      { $set: { expires_at: Date.now() + this.deps.settings.lease_seconds * 1000 } },
    );
    return matchedCount === 1;
  }

  private async release(webhookId: string): Promise<void> {
    await this.leases.deleteOne({ _id: webhookId, owner: this.deps.identity });
  }
}
