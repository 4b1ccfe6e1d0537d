import { NotFoundError } from '../lib/errors';
import { connectStore, type Store } from '../lib/mongo';
import { COLLECTIONS, ensureIndexes, type WebhookDoc } from '../lib/store/collections';
import {
  createWebhookRequestSchema,
  createWebhookResponseSchema,
  webhookListResponseSchema,
  webhookSchema,
  WEBHOOK_EVENT_NAMES,
} from '../lib/schemas/webhook';
import { FieldCrypto } from '../lib/crypto/fields';
import { WebhookService, type WebhookOwner } from '../api/webhooks/service';
import { testConfig } from './helpers/stack';

const specBody = {
  url: 'https://your-system.example.com/webhook',
  events: ['session.started', 'session.ended', 'client.created'],
  secret: 'your_webhook_secret',
};

describe('webhook registration schemas', () => {
  it("accepts the spec's register body as it is", () => {
    expect(createWebhookRequestSchema.parse(specBody)).toEqual(specBody);
  });

  it('offers every lifecycle event and a wildcard', () => {
    expect(WEBHOOK_EVENT_NAMES).toEqual(
      expect.arrayContaining([
        'session.scheduled',
        'session.started',
        'session.ended',
        'session.cancelled',
        'message.created',
        'note.added',
        'client.created',
      ]),
    );
    expect(createWebhookRequestSchema.safeParse({ ...specBody, events: ['*'] }).success).toBe(true);
  });

  it.each([
    ['a non-http URL', { url: 'ftp://example.com/hook' }],
    ['a relative URL', { url: '/webhook' }],
    ['a URL over 2048 characters', { url: `https://example.com/${'a'.repeat(2040)}` }],
    ['no events', { events: [] }],
    ['an unknown event', { events: ['session.exploded'] }],
    ['a repeated event', { events: ['session.started', 'session.started'] }],
    ['a secret under 16 characters', { secret: 'short' }],
    ['a secret over 256 characters', { secret: 'x'.repeat(257) }],
  ])('rejects %s', (_what, change) => {
    expect(createWebhookRequestSchema.safeParse({ ...specBody, ...change }).success).toBe(false);
  });

  it('describes the payloads for the OpenAPI document', () => {
    expect(createWebhookRequestSchema.meta()?.example).toEqual(specBody);
    expect(webhookSchema.meta()?.example).toMatchObject({ status: 'active' });
  });
});

describe('WebhookService', () => {
  let store: Store;
  let service: WebhookService;
  let fields: FieldCrypto;
  const system: WebhookOwner = { name: 'system' };
  // Facilitators: what they create is theirs, and they are confined to it.
  const alice: WebhookOwner = { owner_id: 'u_alice', restrict_to: 'u_alice', name: 'alice' };
  const bob: WebhookOwner = { owner_id: 'u_bob', restrict_to: 'u_bob', name: 'bob' };
  // An admin owns what it creates but sees everyone's.
  const admin: WebhookOwner = { owner_id: 'u_admin', name: 'admin' };

  beforeAll(async () => {
    const config = testConfig();
    store = await connectStore(config);
    await ensureIndexes(store.db);
    fields = FieldCrypto.fromConfig(config);
    service = new WebhookService(store.db, fields);
  });
  afterAll(async () => {
    await store?.db.dropDatabase();
    await store?.close();
  });
  const stored = (id: string) =>
    store.db.collection<WebhookDoc>(COLLECTIONS.webhooks).findOne({ _id: id });

  it('registers a webhook in the spec shape and keeps the chosen secret without echoing it', async () => {
    const created = await service.create(createWebhookRequestSchema.parse(specBody), alice);
    expect(created).toEqual({
      webhook_id: expect.stringMatching(/^wh_[a-z0-9]{16}$/),
      url: specBody.url,
      events: specBody.events,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      status: 'active',
      created_by: 'alice',
    });
    expect(createWebhookResponseSchema.parse(created)).toEqual(created);
    // The dispatcher signs with the stored secret, kept encrypted; the owner scopes who sees it.
    const doc = await stored(created.webhook_id);
    expect(doc).toMatchObject({ owner_id: 'u_alice' });
    expect(JSON.stringify(doc)).not.toContain('your_webhook_secret');
    expect(fields.openSecret(`webhooks:${created.webhook_id}:secret`, doc!.secret)).toBe(
      'your_webhook_secret',
    );
  });

  it('generates a secret when none is given and shows it only in the create answer', async () => {
    const created = await service.create(
      { url: 'https://hooks.example.com/generated', events: ['*'] },
      bob,
    );
    expect(created.secret).toMatch(/^whsec_[a-z0-9]{48}$/);
    const secret = (await stored(created.webhook_id))!.secret;
    expect(secret).not.toBe(created.secret);
    expect(fields.openSecret(`webhooks:${created.webhook_id}:secret`, secret)).toBe(created.secret);

    const read = await service.get(created.webhook_id, bob);
    const listed = await service.list(1, 100, bob);
    for (const shown of [read, ...listed.webhooks]) {
      expect(shown).not.toHaveProperty('secret');
      expect(shown).not.toHaveProperty('owner_id');
      expect(shown).not.toHaveProperty('_id');
    }
    expect(JSON.stringify(listed)).not.toContain(created.secret!);
    expect(read).toEqual(webhookSchema.parse(read));
  });

  it('shows an owner only its own webhooks and answers for the others as if they did not exist', async () => {
    const mine = await service.create(
      { url: 'https://a.example.com/hook', events: ['note.added'] },
      alice,
    );
    const theirs = await service.create(
      { url: 'https://b.example.com/hook', events: ['message.created'] },
      bob,
    );

    await expect(service.get(theirs.webhook_id, alice)).rejects.toThrow(NotFoundError);
    await expect(service.delete(theirs.webhook_id, alice)).rejects.toThrow(NotFoundError);
    await expect(service.get('wh_doesnotexist0000', alice)).rejects.toThrow(
      `Webhook wh_doesnotexist0000 not found`,
    );
    // The refused delete left bob's webhook alone.
    expect(await service.get(theirs.webhook_id, bob)).toMatchObject({ url: theirs.url });

    const alicesIds = (await service.list(1, 100, alice)).webhooks.map((w) => w.webhook_id);
    expect(alicesIds).toContain(mine.webhook_id);
    expect(alicesIds).not.toContain(theirs.webhook_id);
    for (const w of (await service.list(1, 100, alice)).webhooks)
      expect(w.created_by).toBe('alice');

    // Unconfined callers (the system, an admin) see everyone's.
    for (const unconfined of [system, admin]) {
      const all = (await service.list(1, 100, unconfined)).webhooks.map((w) => w.webhook_id);
      expect(all).toEqual(expect.arrayContaining([mine.webhook_id, theirs.webhook_id]));
      expect(await service.get(theirs.webhook_id, unconfined)).toMatchObject({
        created_by: 'bob',
      });
    }
    const adminsOwn = await service.create(
      { url: 'https://admin.example.com/hook', events: ['*'] },
      admin,
    );
    expect((await stored(adminsOwn.webhook_id))?.owner_id).toBe('u_admin');
    await expect(service.get(adminsOwn.webhook_id, alice)).rejects.toThrow(NotFoundError);
  });

  it('deletes a webhook once; afterwards it is gone for everyone', async () => {
    const created = await service.create(
      { url: 'https://c.example.com/hook', events: ['session.ended'] },
      alice,
    );
    await service.delete(created.webhook_id, alice);
    await expect(service.get(created.webhook_id, alice)).rejects.toThrow(NotFoundError);
    await expect(service.get(created.webhook_id, system)).rejects.toThrow(NotFoundError);
    await expect(service.delete(created.webhook_id, alice)).rejects.toThrow(NotFoundError);
    expect(await stored(created.webhook_id)).toBeNull();
  });

  it('lists newest first with the id breaking ties, in stable pages', async () => {
    const owner: WebhookOwner = { owner_id: 'u_pager', restrict_to: 'u_pager', name: 'pager' };
    const sameTime = '2025-05-11T12:00:00.000Z';
    const docs: WebhookDoc[] = ['wh_b', 'wh_d', 'wh_a', 'wh_c'].map((id) => ({
      _id: id,
      webhook_id: id,
      url: `https://${id}.example.com/`,
      events: ['*'],
      created_at: sameTime,
      status: 'active',
      created_by: 'pager',
      owner_id: 'u_pager',
      secret: 'x'.repeat(16),
    }));
    await store.db.collection<WebhookDoc>(COLLECTIONS.webhooks).insertMany(docs);
    const newest = await service.create({ url: 'https://new.example.com/', events: ['*'] }, owner);

    const page1 = await service.list(1, 2, owner);
    const page2 = await service.list(2, 2, owner);
    const page3 = await service.list(3, 2, owner);
    expect(webhookListResponseSchema.parse(page1)).toEqual(page1);
    expect(page1.pagination).toEqual({ total: 5, page: 1, page_size: 2, pages: 3 });
    expect(
      [...page1.webhooks, ...page2.webhooks, ...page3.webhooks].map((w) => w.webhook_id),
    ).toEqual([newest.webhook_id, 'wh_d', 'wh_c', 'wh_b', 'wh_a']);
    expect(page3.pagination).toEqual({ total: 5, page: 3, page_size: 2, pages: 3 });
  });

  it('creates the indexes its reads use', async () => {
    const names = (await store.db.collection(COLLECTIONS.webhooks).listIndexes().toArray()).map(
      (i) => i.name as string,
    );
    expect(names).toEqual(expect.arrayContaining(['owner_created', 'created', 'status_events']));
  });
});
