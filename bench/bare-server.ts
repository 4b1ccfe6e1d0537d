/**
 * The baselines for bench/read-path.ts: bare Koa routes (one handler, no middleware) in a Node
 * process of their own, like the real API. Connects to the same MongoDB-wire server with the
 * same client settings as the API (lib/mongo), and does the single read each real route is built
 * on, with the same filter, projection, sort and limit:
 *
 *   GET /plain                     a small JSON body, no I/O
 *   GET /sessions/:id              sessions.findOne({ _id })
 *   GET /sessions?client_id=…      sessions.find({ client_id }) newest first, first page of 10
 *
 *   node --import tsx bench/bare-server.ts --port N   (environment as for api/server.ts)
 */
import * as http from 'node:http';
import { parseArgs } from 'node:util';
import Koa from 'koa';
import { loadConfig } from '../lib/config';
import { connectStore } from '../lib/mongo';
import { COLLECTIONS, type SessionDoc } from '../lib/store/collections';
// The very projections the real routes use, so only the API's own work differs.
import { INTERNAL, LIST_ITEM } from '../api/sessions/service';

const { values: args } = parseArgs({ options: { port: { type: 'string', default: '0' } } });

const PAGE = 10;

async function main(): Promise<void> {
  const config = loadConfig({ argv: [] });
  const store = await connectStore(config, 'smart-steps-bench-bare');
  const sessions = store.db.collection<SessionDoc>(COLLECTIONS.sessions);

  const app = new Koa();
  app.use(async (ctx) => {
    if (ctx.method !== 'GET') return;
    if (ctx.path === '/plain') {
      ctx.body = { ok: true, service: 'bare', version: 1 };
      return;
    }
    if (ctx.path === '/sessions') {
      const clientId = ctx.query.client_id;
      if (typeof clientId !== 'string') return;
      ctx.body = {
        sessions: await sessions
          .find({ client_id: clientId }, LIST_ITEM)
          .sort({ created_at: -1, session_id: -1 })
          .limit(PAGE)
          .toArray(),
      };
      return;
    }
    const m = /^\/sessions\/([^/]+)$/.exec(ctx.path);
    if (m) {
      const doc = await sessions.findOne({ _id: m[1]! }, { projection: INTERNAL });
      if (doc) ctx.body = doc;
    }
  });

  const server = http.createServer(app.callback());
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve) => server.listen(Number(args.port), '127.0.0.1', resolve));
  process.stdout.write(`bare listening on ${JSON.stringify(server.address())}\n`);

  const stop = () => {
    server.close();
    server.closeAllConnections();
    void store.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`bare server failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
