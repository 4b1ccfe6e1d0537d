/**
 * The Temporal codec server: `POST /codec/encode` and `POST /codec/decode` in the JSON form the
 * Temporal Web UI and CLI send (`{"payloads": [{"metadata": {k: base64}, "data": base64}]}`,
 * with `X-Namespace`), so operators can read encrypted histories with the deployment's own keys.
 * Decoding shows transcripts, so both need the `admin` permission and are audited.
 *
 * The UI can be given a URL but not our bearer token (its "pass access token" sends its own
 * OIDC token, over HTTPS only), so the same routes also answer under
 * `/codec/token/{token}/…`, the credential in the path; logs mask that segment.
 */
import type { Payload, PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import { ValidationError } from '../../lib/errors';
import { PayloadCodecError } from '../../lib/crypto/payload-codec';
import { route, type AnyRoute } from '../routing/route';

export const CODEC_PREFIX = '/codec';

const base64 = z
  .string()
  .regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64')
  .describe('Bytes in base64');
const jsonPayloadSchema = z.object({
  metadata: z.record(z.string(), base64).optional(),
  data: base64.optional(),
});
const payloadsSchema = z
  // Proto JSON leaves an empty list out: the Go SDK and the CLI send `{}` for no payloads.
  .object({ payloads: z.array(jsonPayloadSchema).max(10_000).default([]) })
  .meta({ description: 'Temporal payloads as the codec server protocol writes them' });
type JsonPayload = z.infer<typeof jsonPayloadSchema>;

const fromJson = (p: JsonPayload): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]),
  ),
  data: Buffer.from(p.data ?? '', 'base64'),
});

const toJson = (p: Payload): JsonPayload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const tokenParams = z.object({
  token: z
    .string()
    .min(1)
    .max(4096)
    .describe('An access token or API key, for clients that cannot send `Authorization`'),
});

/** The request path as logs may hold it: a credential carried in the path is masked. */
export function loggablePath(path: string): string {
  return path.replace(/^(\/codec\/token\/)[^/]+/, '$1[redacted]');
}

export function codecRoutes(codec: PayloadCodec): AnyRoute[] {
  const run = async (direction: 'encode' | 'decode', payloads: JsonPayload[]) => {
    const out: JsonPayload[] = [];
    // One at a time, so a payload that fails is named by its index.
    for (const [i, p] of payloads.entries()) {
      try {
        const [converted] = await codec[direction]([fromJson(p)]);
        out.push(toJson(converted!));
      } catch (err) {
        if (!(err instanceof PayloadCodecError)) throw err;
        throw new ValidationError(`Cannot ${direction} payload ${i}: ${err.message}`, {
          field: `payloads.${i}`,
          reason: err.message,
        });
      }
    }
    return out;
  };

  const routes: AnyRoute[] = [];
  for (const direction of ['encode', 'decode'] as const) {
    const what =
      direction === 'decode'
        ? 'Decrypts Temporal payloads (shows their content: transcripts)'
        : 'Encrypts Temporal payloads as workers and the API do';
    const common = {
      method: 'post' as const,
      tag: 'Temporal codec',
      auth: 'admin' as const,
      body: payloadsSchema,
      audit: { action: `temporal_payload.${direction}`, resource: 'temporal_payload' },
      responses: { 200: { description: `The payloads, ${direction}d`, schema: payloadsSchema } },
    };
    routes.push(
      route({
        ...common,
        path: `${CODEC_PREFIX}/${direction}`,
        operationId: `codec${direction === 'encode' ? 'Encode' : 'Decode'}`,
        summary: `${what} (administrators; Temporal codec server protocol)`,
        handler: async (ctx, { body }) => {
          ctx.set('Cache-Control', 'no-store');
          ctx.body = { payloads: await run(direction, body.payloads) };
        },
      }),
      route({
        ...common,
        path: `${CODEC_PREFIX}/token/{token}/${direction}`,
        operationId: `codec${direction === 'encode' ? 'Encode' : 'Decode'}WithPathToken`,
        summary: `${what}, the credential in the path (the Temporal Web UI's codec endpoint setting)`,
        params: tokenParams,
        credentialParam: 'token',
        handler: async (ctx, { body }) => {
          ctx.set('Cache-Control', 'no-store');
          ctx.body = { payloads: await run(direction, body.payloads) };
        },
      }),
    );
  }
  return routes;
}
