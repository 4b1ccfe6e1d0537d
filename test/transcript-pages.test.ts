import { FieldCrypto } from '../lib/crypto/fields';
import { COLLECTIONS, type TranscriptPageDoc } from '../lib/store/collections';
import { addMessageToPage, pageId, TRANSCRIPT_PAGE_SIZE } from '../lib/store/transcript-pages';
import type { Message } from '../lib/schemas/session';
import { startedSession, startRuntime, type Runtime } from './helpers/runtime';

/**
 * The transcript is read from pages looked up by `_id` (FerretDB scans the messages collection
 * for any other filter); what the API answers must be what the messages collection records.
 */
describe('transcript pages', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const db = () => rt.api.connections.store.db;
  const pages = () => db().collection<TranscriptPageDoc>(COLLECTIONS.transcriptPages);

  const activeSession = () => startedSession(rt, 'pages');

  /** Every message, page by page of the API's own paging. */
  async function listed(id: string, query = ''): Promise<{ messages: Message[]; total: number }> {
    const messages: Message[] = [];
    for (let page = 1; ; page++) {
      const res = await rt.http(
        'GET',
        `/api/v1/sessions/${id}/messages?limit=40&page=${page}${query}`,
      );
      expect(res.status).toBe(200);
      messages.push(...(res.body.messages as Message[]));
      if (res.body.messages.length < 40) return { messages, total: res.body.pagination.total };
    }
  }

  jest.setTimeout(120_000);

  it('serves a transcript of several pages in order, paged and filtered as the records hold it', async () => {
    const id = await activeSession();
    const lines = 2 * TRANSCRIPT_PAGE_SIZE + 5;
    // Injected persona lines get no reply, so the count is exact.
    for (let i = 1; i <= lines; i++) {
      const res = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
        content: `Line ${i}`,
        sender_type: 'persona',
      });
      expect(res.status).toBe(201);
    }
    const all = await listed(id);
    expect(all.total).toBe(lines + 1);
    expect(all.messages.slice(1).map((m) => m.content)).toEqual(
      Array.from({ length: lines }, (_, i) => `Line ${i + 1}`),
    );
    expect(new Set(all.messages.map((m) => m.id)).size).toBe(lines + 1);

    // Page 0 is the session's view; after it, two page documents, the last one partly filled.
    const stored = await Promise.all(
      [0, 1, 2, 3].map((p) => pages().findOne({ _id: pageId(id, p) })),
    );
    expect(stored.map((p) => p?.count)).toEqual([
      undefined,
      TRANSCRIPT_PAGE_SIZE,
      lines + 1 - 2 * TRANSCRIPT_PAGE_SIZE,
      undefined,
    ]);

    // `since` keeps what came after that message.
    const cut = all.messages[60]!;
    const after = await listed(id, `&since=${encodeURIComponent(cut.timestamp)}`);
    expect(after.messages).toEqual(all.messages.filter((m) => m.timestamp > cut.timestamp));
    expect(after.total).toBe(after.messages.length);
    expect(after.messages[0]!.content).toBe(all.messages[61]!.content);

    // The details view past its own size reads the pages too.
    const details = await rt.http('GET', `/api/v1/sessions/${id}`);
    expect(details.body.messages).toEqual(all.messages);
    expect(details.body).not.toHaveProperty('transcript_paged');

    // The records of truth say the same: read as a session from before the pages is.
    await db()
      .collection('sessions')
      .updateOne({ _id: id as never }, { $unset: { transcript_paged: '' } });
    expect(await listed(id)).toEqual(all);
    expect((await listed(id, `&since=${encodeURIComponent(cut.timestamp)}`)).messages).toEqual(
      after.messages,
    );
  });

  it('reads a session from before the pages from the messages collection', async () => {
    const id = await activeSession();
    await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Stored before the pages',
      sender_type: 'persona',
    });
    const before = await listed(id);
    await db()
      .collection('sessions')
      .updateOne({ _id: id as never }, { $unset: { transcript_paged: '' } });
    await pages().deleteMany({ session_id: id });
    expect(await listed(id)).toEqual(before);
    expect(before.messages.map((m) => m.content)).toContain('Stored before the pages');
  });

  it('adds a message to its page once, however often its write is retried', async () => {
    const fields = FieldCrypto.fromConfig(rt.config);
    const sessionId = `ses_pagetest${Date.now()}`;
    const message = (seq: number): Message => ({
      id: `msg_pagetest${seq}`,
      session_id: sessionId,
      sender_type: 'client',
      sender_id: 'c_pagetest',
      content: `Retried ${seq}`,
      timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    });
    const first = TRANSCRIPT_PAGE_SIZE + 1;
    const next = 2 * TRANSCRIPT_PAGE_SIZE + 1;
    // The second writes are retries; the first messages belong to the view, not to a page.
    for (const seq of [1, first, first + 1, first + 1, next, next]) {
      await addMessageToPage(db(), fields, message(seq), seq);
    }
    const stored = await Promise.all(
      [0, 1, 2].map((p) => pages().findOne({ _id: pageId(sessionId, p) })),
    );
    expect(stored.map((p) => p?.count)).toEqual([undefined, 2, 1]);
    const opened = JSON.parse(
      fields.openTranscriptPage(pageId(sessionId, 1), stored[1]!.messages),
    ) as Message[];
    expect(opened.map((m) => m.content)).toEqual([`Retried ${first}`, `Retried ${first + 1}`]);
  });
});
