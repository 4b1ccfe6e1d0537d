/**
 * The OpenAPI 3.1 document, written from the route table: the zod schemas that validate
 * requests become the parameter and body schemas (input view: defaults make fields optional),
 * the response schemas become the responses (output view), and each route's auth, parameters
 * and body decide which error responses it lists.
 */
import { z } from 'zod';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER } from '../../lib/auth/request-signing';
import type { AnyRoute } from './route';

type JsonSchema = Record<string, unknown>;

const ERROR_REF = { $ref: '#/components/schemas/ErrorEnvelope' };

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed request (e.g. a body that is not JSON)',
  401: 'Missing, invalid or expired credentials',
  403: 'The caller lacks the permission this action needs',
  404: 'No such resource, or not visible to the caller',
  409: 'Conflicts with the resource’s current state',
  413: 'Request body too large',
  422: 'A field failed validation (`details.field`, `details.reason`)',
  429: 'Rate limit exceeded',
  500: 'Internal error (no internals are returned)',
  503: 'A dependency is unavailable; retry shortly',
};

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: z.string().meta({ example: 'validation_error' }),
      message: z.string(),
      details: z
        .record(z.string(), z.unknown())
        .meta({ description: 'What went wrong where, e.g. `field` and `reason`; may be empty' }),
      request_id: z.string(),
    }),
  })
  .meta({ description: 'The error envelope every failure uses.' });

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** Path or query parameters from a zod object's fields. */
function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  if (!(schema instanceof z.ZodObject)) throw new Error(`${where} schema must be a z.object`);
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => {
    const { description, ...fieldSchema } = jsonSchema(field, 'input');
    return {
      name,
      in: where,
      required: where === 'path' || !field.safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: fieldSchema,
    };
  });
}

function errorStatuses(route: AnyRoute): number[] {
  const statuses = new Set<number>(route.errors ?? []);
  if (route.auth !== 'public') {
    statuses.add(401);
    statuses.add(403);
  }
  if (route.params) statuses.add(404);
  if (route.params || route.query || route.body) statuses.add(422);
  if (route.body) {
    statuses.add(400);
    statuses.add(413);
  }
  statuses.add(500);
  return [...statuses].sort();
}

function operation(route: AnyRoute): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, res] of Object.entries(route.responses)) {
    responses[status] = {
      description: res.description,
      ...(res.schema
        ? { content: { 'application/json': { schema: jsonSchema(res.schema, 'output') } } }
        : {}),
    };
  }
  for (const status of errorStatuses(route)) {
    responses[String(status)] ??= {
      description: ERROR_TEXT[status] ?? 'Error',
      content: { 'application/json': { schema: ERROR_REF } },
    };
  }
  const params = [...parameters(route.params, 'path'), ...parameters(route.query, 'query')];
  if (route.method === 'post' && route.auth !== 'public') {
    params.push({ $ref: '#/components/parameters/IdempotencyKey' });
  }
  // OpenAPI has no security scheme for an HMAC over the body, so the signature is described as
  // the two headers it is, on every route an API key can call.
  if (route.auth !== 'public') {
    params.push(
      { $ref: '#/components/parameters/SignatureTimestamp' },
      { $ref: '#/components/parameters/Signature' },
    );
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    // A credential in the path is a parameter, not a security scheme OpenAPI can describe.
    security:
      route.auth === 'public' || route.credentialParam ? [] : [{ bearerJwt: [] }, { apiKey: [] }],
    ...(route.auth === 'public' || route.auth === 'authenticated'
      ? {}
      : { 'x-required-scope': route.auth }),
    ...(route.deprecated ? { deprecated: true } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(route.body
      ? {
          requestBody: {
            required: !route.body.safeParse(undefined).success,
            content: { 'application/json': { schema: jsonSchema(route.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

export interface DocumentInfo {
  version: string;
  serverUrl?: string;
}

export function openApiDocument(routes: AnyRoute[], info: DocumentInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= {});
    if (item[route.method]) throw new Error(`Route defined twice: ${route.method} ${route.path}`);
    item[route.method] = operation(route);
  }
  const tags = [...new Set(routes.map((r) => r.tag))].map((name) => ({ name }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Smart Steps API',
      version: info.version,
      description:
        'Session runtime for professional AI personas. Authenticate with a JWT from ' +
        '`POST /api/v1/auth/login` or an API key (`sk_ss_…`), both as `Authorization: Bearer …`. ' +
        `An API key that requires signing also sends \`${TIMESTAMP_HEADER}\` and \`${SIGNATURE_HEADER}\` ` +
        '(HMAC-SHA256 of timestamp + raw body with the key’s signing secret). ' +
        'Every failure answers with the error envelope; every response carries `X-Request-Id`.',
    },
    servers: [{ url: info.serverUrl ?? '/' }],
    tags,
    paths,
    components: {
      schemas: { ErrorEnvelope: jsonSchema(errorEnvelopeSchema, 'output') },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Retry-safe POST: the same key and body within 24 h replays the first answer; ' +
            'the same key with another body is a 409.',
          schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{8,128}$' },
        },
        SignatureTimestamp: {
          name: TIMESTAMP_HEADER,
          in: 'header',
          required: false,
          description:
            'Request signing (API keys that require it): the time of signing in Unix seconds; ' +
            'refused when further than `security.api_keys.signing.window_seconds` (300) from the ' +
            'server clock.',
          schema: { type: 'string', pattern: '^[0-9]{1,12}$' },
        },
        Signature: {
          name: SIGNATURE_HEADER,
          in: 'header',
          required: false,
          description:
            'Request signing: `sha256=` + hex HMAC-SHA256 of the timestamp header followed by the ' +
            'raw request body (empty when there is none), keyed with the signing secret shown ' +
            'when the key was made. Each signature is accepted once; sign retries afresh.',
          schema: { type: 'string', pattern: '^sha256=[0-9a-fA-F]{64}$' },
        },
      },
      securitySchemes: {
        bearerJwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'Access token from POST /api/v1/auth/login (short-lived; refresh it).',
        },
        apiKey: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'sk_ss_…',
          description:
            'API key for system integrations (`smart-steps apikey generate`). Keys made with ' +
            '`--require-signature` (or all keys, when configured) must also send the ' +
            '`X-Signature-Timestamp` and `X-Signature` headers.',
        },
      },
    },
  };
}
