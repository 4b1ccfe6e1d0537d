import { z } from 'zod';
import { AuthenticationError, BadRequestError } from '../../lib/errors';
import { RoleSchema, ScopeSchema } from '../../lib/auth/roles';
import { isoDateTime, toIsoUtc } from '../../lib/schemas/common';
import type { AuthService } from '../../lib/auth/sessions';
import { route, type AnyRoute } from '../routing/route';
import type { LoginGuard } from '../limits';
import type { AuditLog } from '../../lib/audit';

const loginRequestSchema = z.object({
  username: z.string().trim().min(1).max(254).describe('Username or e-mail address'),
  password: z.string().min(1).max(1024),
});
const refreshRequestSchema = z.object({
  refresh_token: z.string().min(1).max(512),
});

const tokenResponseSchema = z.object({
  token: z.string().describe('Access token (JWT) for `Authorization: Bearer …`'),
  token_type: z.literal('Bearer'),
  expires_at: isoDateTime,
  refresh_token: z.string().describe('Single-use; exchange it at /auth/refresh for a new pair'),
  refresh_expires_at: isoDateTime,
  user: z.object({
    user_id: z.string(),
    username: z.string(),
    email: z.string(),
    role: RoleSchema,
  }),
});

const meSchema = z.object({
  kind: z.enum(['user', 'api_key']),
  id: z.string(),
  name: z.string(),
  role: RoleSchema,
  scopes: z.array(ScopeSchema),
});

type Tokens = Awaited<ReturnType<AuthService['login']>>;
const tokenView = (t: Tokens) => ({
  token: t.token,
  token_type: 'Bearer' as const,
  expires_at: toIsoUtc(t.expires_at),
  refresh_token: t.refresh_token,
  refresh_expires_at: toIsoUtc(t.refresh_expires_at),
  user: t.user,
});

export function authRoutes(auth: AuthService, guard: LoginGuard, audit: AuditLog): AnyRoute[] {
  const tag = 'Authentication';
  return [
    route({
      method: 'post',
      path: '/api/v1/auth/login',
      operationId: 'login',
      summary: 'Exchange a username (or e-mail) and password for an access and a refresh token',
      tag,
      auth: 'public',
      body: loginRequestSchema,
      errors: [401, 429],
      responses: { 200: { description: 'Tokens', schema: tokenResponseSchema } },
      handler: async (ctx, { body }) => {
        ctx.set('Cache-Control', 'no-store');
        // The name tried is recorded (not the password); a success by the user's id.
        const attempt = (outcome: 'success' | 'failed' | 'denied', userId?: string) =>
          audit.record({
            actor_type: userId ? 'user' : 'anonymous',
            actor_id: userId ?? body.username.slice(0, 200),
            action: 'auth.login',
            outcome,
            ip: ctx.ip,
            request_id: ctx.state.requestId as string,
          });
        const account = await guard.account(body.username);
        try {
          await guard.check(account, ctx.ip);
        } catch (err) {
          await attempt('denied');
          throw err;
        }
        let tokens: Tokens;
        try {
          tokens = await auth.login(body.username, body.password);
        } catch (err) {
          if (err instanceof AuthenticationError) {
            await guard.failed(account, ctx.ip);
            await attempt('failed');
          }
          throw err;
        }
        await attempt('success', tokens.user.user_id);
        ctx.body = tokenView(tokens);
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/refresh',
      operationId: 'refreshToken',
      summary: 'Trade a refresh token for a new pair (the old one stops working)',
      tag,
      auth: 'public',
      body: refreshRequestSchema,
      errors: [401],
      responses: { 200: { description: 'Tokens', schema: tokenResponseSchema } },
      handler: async (ctx, { body }) => {
        ctx.set('Cache-Control', 'no-store');
        ctx.body = tokenView(await auth.refresh(body.refresh_token));
      },
    }),
    route({
      method: 'post',
      path: '/api/v1/auth/logout',
      operationId: 'logout',
      summary: 'End the login session: its access and refresh tokens stop working',
      tag,
      auth: 'authenticated',
      audit: { action: 'auth.logout', resource: 'login_session' },
      errors: [400],
      responses: { 204: { description: 'Logged out' } },
      handler: async (ctx, { principal }) => {
        if (!principal.session_id) {
          throw new BadRequestError('API keys have no login session; revoke the key instead');
        }
        await auth.logout(principal.session_id);
        ctx.status = 204;
      },
    }),
    route({
      method: 'get',
      path: '/api/v1/auth/me',
      operationId: 'whoAmI',
      summary: 'The caller: user or API key, role and permissions',
      tag,
      auth: 'authenticated',
      responses: { 200: { description: 'The caller', schema: meSchema } },
      handler: (ctx, { principal }) => {
        ctx.body = {
          kind: principal.kind,
          id: principal.id,
          name: principal.name,
          role: principal.role,
          scopes: principal.scopes,
        };
      },
    }),
  ];
}
