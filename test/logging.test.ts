import { randomBytes } from 'node:crypto';
import { createLogger } from '../lib/log';
import { startRuntime, type Runtime } from './helpers/runtime';
import { waitFor } from './helpers/stack';
import { TestSocket } from './helpers/ws';

interface LogLine {
  level: number;
  msg: string;
  request_id?: string;
  session_id?: string;
  route?: string;
  [key: string]: unknown;
}

describe('structured logs at info level', () => {
  const lines: string[] = [];
  let rt: Runtime;
  const tag = randomBytes(4).toString('hex');
  // Words that appear nowhere but in what the client said and who the client is.
  const secrets = {
    firstName: `Zephyrine${tag}`,
    lastName: `Quillfeather${tag}`,
    email: `zephyrine.${tag}@example.test`,
    message: `my neighbour's parrot ${tag} keeps me awake`,
    socketMessage: `the lighthouse keeper ${tag} never writes back`,
    note: `seemed tired, mentioned the parrot ${tag}`,
  };

  beforeAll(async () => {
    // Every process of the runtime logs into this one capture, as they would to stdout.
    const log = createLogger('test', 'info', { write: (line: string) => void lines.push(line) });
    rt = await startRuntime({}, { log });
  });
  afterAll(async () => {
    await rt?.stop();
  });

  const parsed = () => lines.map((l) => JSON.parse(l) as LogLine);

  it('carry request and session ids but never message content or who the client is', async () => {
    const client = await rt.http('POST', '/api/v1/clients', {
      first_name: secrets.firstName,
      last_name: secrets.lastName,
      email: secrets.email,
    });
    expect(client.status).toBe(201);
    expect((await rt.http('GET', `/api/v1/clients?search=${secrets.firstName}`)).status).toBe(200);
    const created = await rt.http('POST', '/api/v1/sessions', {
      client_id: client.body.client_id,
      persona_id: 'dr_morgan_hayes',
      duration_minutes: 30,
      goals: ['sleep better'],
    });
    const id = created.body.session_id as string;
    expect((await rt.http('POST', `/api/v1/sessions/${id}/start`)).status).toBe(200);

    const sent = await rt.http('POST', `/api/v1/sessions/${id}/messages`, {
      content: secrets.message,
      sender_type: 'client',
    });
    expect(sent.status).toBe(201);
    const socket = await TestSocket.open(rt.api.url, { token: rt.admin.token });
    expect((await socket.request('join_session', { session_id: id })).type).toBe('ack');
    expect(
      (await socket.request('send_message', { session_id: id, content: secrets.socketMessage }))
        .type,
    ).toBe('ack');
    expect(
      (await rt.http('POST', `/api/v1/sessions/${id}/notes`, { content: secrets.note })).status,
    ).toBe(201);
    const replies = await waitFor('both persona replies', async () => {
      const res = await rt.http('GET', `/api/v1/sessions/${id}/messages`);
      const answers = (
        res.body.messages as Array<{ content: string; metadata?: { in_reply_to?: string[] } }>
      ).filter((m) => m.metadata?.in_reply_to?.length);
      return answers.length >= 2 ? answers : undefined;
    });
    await socket.close();
    expect((await rt.http('POST', `/api/v1/sessions/${id}/end`)).status).toBe(200);

    const logs = parsed();
    expect(logs.length).toBeGreaterThan(10);
    const text = lines.join('\n').toLowerCase();
    for (const [what, value] of Object.entries(secrets)) {
      expect({ what, logged: text.includes(value.toLowerCase()) }).toEqual({ what, logged: false });
    }
    // The persona's words are message content too (the local engine echoes the client's).
    for (const reply of replies) {
      expect(text.includes(reply.content.toLowerCase().slice(0, 60))).toBe(false);
    }

    // One line per request, found by the id the caller was given.
    const requestId = sent.headers.get('x-request-id');
    expect(logs.find((l) => l.request_id === requestId)).toMatchObject({
      msg: 'request',
      method: 'POST',
      route: '/api/v1/sessions/{id}/messages',
      path: `/api/v1/sessions/${id}/messages`,
      status: 201,
      session_id: id,
    });
    const requests = logs.filter((l) => l.msg === 'request');
    expect(requests.every((l) => typeof l.request_id === 'string')).toBe(true);
    // The search is a query parameter, which request lines leave out.
    expect(requests.find((l) => l.route === '/api/v1/clients' && l.method === 'GET')).toMatchObject(
      {
        path: '/api/v1/clients',
      },
    );
  });
});
