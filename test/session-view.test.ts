import { VIEW_MESSAGE_LIMIT } from '../lib/store/session-view';
import { startedSession, startRuntime, type Runtime } from './helpers/runtime';

/** GET /sessions/{id} reads a view kept in the session document; it must equal the records. */
describe('session details view', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await startRuntime();
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const activeSession = () => startedSession(rt, 'view');

  const transcript = async (id: string) =>
    (await rt.http('GET', `/api/v1/sessions/${id}/messages?limit=100`)).body.messages as unknown[];

  it('shows every message in order past the view’s size, as the transcript has them', async () => {
    const id = await activeSession();
    // Injected persona lines get no reply, so the count is exact.
    for (let i = 1; i <= VIEW_MESSAGE_LIMIT + 5; i++) {
      const res = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
        content: `Line ${i}`,
        sender_type: 'persona',
      });
      expect(res.status).toBe(201);
    }
    const details = await rt.http('GET', `/api/v1/sessions/${id}`);
    expect(details.body.messages).toHaveLength(VIEW_MESSAGE_LIMIT + 6);
    expect(details.body.messages).toEqual(await transcript(id));
  });

  it('reads sessions stored before the view from the messages and notes collections', async () => {
    const id = await activeSession();
    // A persona line, so no reply lands between the two reads.
    await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: 'Hello there',
      sender_type: 'persona',
    });
    await rt.http('POST', `/api/v1/sessions/${id}/notes`, { content: 'A note' });
    const before = await rt.http('GET', `/api/v1/sessions/${id}`);
    await rt.api.connections.store.db
      .collection('sessions')
      .updateOne({ _id: id as never }, { $unset: { view_messages: '', view_notes: '' } });
    const after = await rt.http('GET', `/api/v1/sessions/${id}`);
    expect(after.body.messages).toEqual(before.body.messages);
    expect(after.body.facilitator_notes).toEqual(before.body.facilitator_notes);
    expect(after.body.facilitator_notes).toMatchObject([{ content: 'A note' }]);
    expect(after.body).not.toHaveProperty('view_messages');
  });
});
