/**
 * The one configuration module: a YAML file (`--config PATH` or `SMARTSTEPS_CONFIG`) overlaid by
 * environment variables, validated by one zod schema. It is the only reader of `process.env`
 * in the project, so every setting is discoverable here and in docs/configuration.md.
 *
 * Environment overrides: `SMARTSTEPS_<SECTION>__<KEY>[__<KEY>…]`, e.g.
 * `SMARTSTEPS_SERVER__PORT=9000` or `SMARTSTEPS_NATS__SERVERS=nats://a:4222,nats://b:4222`.
 * Values are read as YAML scalars, so numbers and booleans need no quoting.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ALERT_SEVERITIES, RISK_CATEGORIES } from './schemas/safety';
import { DEFAULT_CRISIS_SETTINGS } from '../personas/safety/resources';
import { rateSchema } from './rate-limit/rate';
import { CLIENT_SEALABLE, SESSION_SEALABLE } from './crypto/categories';

const port = z.coerce.number().int().min(1).max(65_535);
const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const alertSeverity = z.enum(ALERT_SEVERITIES);

/** Browser origins (`https://host[:port]`), comma-separated in the environment; `*` only where allowed. */
const originList = (wildcard: boolean) =>
  z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean)
        : v,
    z.array(
      wildcard
        ? z.string().regex(/^(\*|https?:\/\/[^/\s]+)$/, 'must be an origin or *')
        : z.string().regex(/^https?:\/\/[^/\s*]+$/, 'must be an origin (scheme://host[:port])'),
    ),
  );

/** The dev stack's Temporal Web UI, the codec endpoint's default browser caller. */
export const DEV_TEMPORAL_UI_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'] as const;

export const LLM_PROVIDERS = ['local', 'openai', 'anthropic'] as const;
const llmProvider = z.enum(LLM_PROVIDERS);
export type LlmProviderName = z.infer<typeof llmProvider>;

/** One remote provider's endpoint; its key comes from the config, its environment variable or a file. */
const llmEndpoint = (d: {
  base_url: string;
  model: string;
  what: string;
  url: string;
  key: string;
}) =>
  z
    .object({
      base_url: z
        .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
        .default(d.base_url)
        .describe(`Base URL of the ${d.what} API: ${d.url}.`),
      model: z.string().min(1).default(d.model).describe('Model name sent with every request.'),
      api_key: z
        .string()
        .min(1)
        .optional()
        .describe(
          `API key (never logged), ${d.key}. Better set through the environment or \`api_key_file\` than in a config file.`,
        ),
      api_key_file: z
        .string()
        .min(1)
        .optional()
        .describe(
          'A file holding the API key (e.g. a mounted secret), read at start-up; `api_key` wins when both are set.',
        ),
    })
    .prefault({});

/** A process's metrics port: one default each, so processes on one host do not collide. */
const metricsPort = (byDefault: number, what: string) =>
  z.coerce
    .number()
    .int()
    .min(0)
    .max(65_535)
    .default(byDefault)
    .describe(
      `Port of ${what}'s \`GET /metrics\` (Prometheus text format); 0 turns it off. Run several on one host with a port each.`,
    );

export const configSchema = z.object({
  server: z
    .object({
      host: z.string().min(1).default('127.0.0.1').describe('Address the API listens on.'),
      port: z.coerce
        .number()
        .int()
        .min(0)
        .max(65_535)
        .default(8543)
        .describe('API port (REST, WebSocket, health); 0 lets the OS pick a free port.'),
      debug: z
        .boolean()
        .default(false)
        .describe('Development mode (`smart-steps server --debug`).'),
      tls: z
        .object({
          cert_file: z
            .string()
            .min(1)
            .optional()
            .describe('PEM certificate (chain) for serving HTTPS/WSS directly; with `key_file`.'),
          key_file: z
            .string()
            .min(1)
            .optional()
            .describe(
              'PEM private key of `cert_file`. Without both, the server speaks plain HTTP.',
            ),
          min_version: z
            .enum(['TLSv1.2', 'TLSv1.3'])
            .default('TLSv1.3')
            .describe('Oldest TLS version accepted (the spec asks for TLS 1.3).'),
        })
        .prefault({})
        .refine((t) => Boolean(t.cert_file) === Boolean(t.key_file), {
          message: 'cert_file and key_file go together',
        }),
      trust_proxy: z
        .boolean()
        .default(false)
        .describe(
          'Take the client address from `X-Forwarded-For` (only behind a proxy that sets it); otherwise anyone could pick the address their limits are counted under.',
        ),
      body_limit_kb: z.coerce
        .number()
        .int()
        .min(1)
        .max(10_240)
        .default(256)
        .describe('Largest accepted request body; larger ones get a 413 envelope.'),
      shutdown_grace_seconds: z.coerce
        .number()
        .min(0)
        .max(300)
        .default(10)
        .describe('On SIGTERM, how long in-flight requests may finish before connections are cut.'),
      drain_seconds: z.coerce
        .number()
        .min(0)
        .max(300)
        .default(0)
        .describe(
          'On SIGTERM, how long the API keeps serving while `/api/health/ready` answers 503, before it stops accepting connections: time for a load balancer to take it out of rotation. 0 stops at once.',
        ),
      compression_threshold_bytes: z.coerce
        .number()
        .int()
        .min(0)
        .default(1024)
        .describe(
          'Responses larger than this are gzip/brotli-compressed when the client accepts it.',
        ),
      cors: z
        .object({
          allowed_origins: originList(true)
            .default([])
            .describe(
              'Browser origins allowed to call the API (e.g. `https://app.example.com`); empty turns CORS off, `*` allows any origin (without credentials).',
            ),
          max_age_seconds: z.coerce
            .number()
            .int()
            .min(0)
            .default(600)
            .describe('How long browsers may cache a preflight answer.'),
        })
        .prefault({}),
    })
    .prefault({}),
  websocket: z
    .object({
      max_frame_bytes: z.coerce
        .number()
        .int()
        .min(1024)
        .max(1_048_576)
        .default(65_536)
        .describe(
          'Largest client frame on `/ws`; a larger one gets an `invalid_request` error frame and the socket stays open (frames over 16 times this close it with 1009).',
        ),
      heartbeat_seconds: z.coerce
        .number()
        .min(1)
        .max(3600)
        .default(30)
        .describe(
          'How often each socket is pinged; a socket that has not answered the previous ping is terminated.',
        ),
      max_buffered_bytes: z.coerce
        .number()
        .int()
        .min(1024)
        .default(1_048_576)
        .describe(
          'Bytes a socket may have waiting to be sent; a slower reader is closed with code 4008 and resumes with `join_session.since`.',
        ),
      auth_timeout_seconds: z.coerce
        .number()
        .min(0.1)
        .max(300)
        .default(5)
        .describe(
          'A socket opened without credentials must send an `auth` frame within this time, or it is closed with code 4001.',
        ),
    })
    .prefault({}),
  storage: z
    .object({
      type: z
        .literal('mongodb')
        .default('mongodb')
        .describe('Storage backend; MongoDB wire protocol.'),
      connection: z
        .object({
          uri: z
            .string()
            .regex(/^mongodb(\+srv)?:\/\//, 'must start with mongodb:// or mongodb+srv://')
            .default('mongodb://127.0.0.1:27017/smartsteps')
            .describe('MongoDB connection string (MongoDB 7, or FerretDB in the dev stack).'),
          database: z.string().min(1).default('smartsteps').describe('Database name.'),
          max_pool_size: z.coerce
            .number()
            .int()
            .min(1)
            .max(1000)
            .default(100)
            .describe('Connection pool ceiling per process.'),
          min_pool_size: z.coerce
            .number()
            .int()
            .min(0)
            .max(1000)
            .default(0)
            .describe('Connections kept open when idle.'),
          server_selection_timeout_ms: z.coerce
            .number()
            .int()
            .min(100)
            .default(5_000)
            .describe('How long an operation waits for a reachable server before failing.'),
        })
        .prefault({}),
    })
    .prefault({}),
  temporal: z
    .object({
      address: z
        .string()
        .min(1)
        .default('127.0.0.1:7233')
        .describe('Temporal frontend gRPC address (host:port).'),
      namespace: z.string().min(1).default('default').describe('Temporal namespace for sessions.'),
      task_queues: z
        .object({
          sessions: z
            .string()
            .min(1)
            .default('sessions')
            .describe('Task queue of the session pool (workflows, bookkeeping).'),
          personas: z
            .string()
            .min(1)
            .default('personas')
            .describe('Task queue of the persona pool (replies, analysis).'),
        })
        .prefault({}),
      codec: z
        .object({
          cors_origins: originList(false)
            .default([...DEV_TEMPORAL_UI_ORIGINS])
            .describe(
              'Browser origins (the Temporal Web UI) allowed to call the payload codec endpoints `/codec/encode` and `/codec/decode`; only these, never `server.cors.allowed_origins`, since decoding reveals transcripts. Empty: no browser may.',
            ),
        })
        .prefault({}),
      continue_as_new_after_events: z.coerce
        .number()
        .int()
        .min(20)
        .optional()
        .describe(
          'A session workflow continues as new after this many history events; unset, when Temporal suggests it.',
        ),
      create_timeout_seconds: z.coerce
        .number()
        .min(1)
        .max(300)
        .default(30)
        .describe(
          'Longest the API waits for a new session to be stored by its workflow; past it, the start is undone and the caller gets a 503 to retry.',
        ),
      command_timeout_seconds: z.coerce
        .number()
        .min(1)
        .max(300)
        .default(30)
        .describe(
          'Longest the API waits for a session command (start, message, note, end, cancel) to be answered by its workflow; past it the caller gets a 503 to retry. The command may still be carried out: messages and notes sent with the same `Idempotency-Key` are stored once.',
        ),
    })
    .prefault({}),
  nats: z
    .object({
      servers: z
        .preprocess(
          (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v),
          z.array(z.string().min(1)).min(1),
        )
        .default(['nats://127.0.0.1:4222'])
        .describe('NATS server URLs; in the environment, comma-separated.'),
      stream: z
        .string()
        .min(1)
        .default('SS_EVENTS')
        .describe('JetStream stream holding lifecycle events (subjects ss.events.>).'),
      duplicate_window_seconds: z.coerce
        .number()
        .int()
        .min(1)
        .default(600)
        .describe(
          'How long JetStream remembers an event id, so a retried publish is dropped as a duplicate.',
        ),
    })
    .prefault({}),
  security: z
    .object({
      headers: z
        .record(
          z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'must be an HTTP header name'),
          z.string(),
        )
        .default({
          'Content-Security-Policy': "default-src 'self'",
          'X-Content-Type-Options': 'nosniff',
          'X-Frame-Options': 'DENY',
          'X-XSS-Protection': '1; mode=block',
          'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
          'Referrer-Policy': 'strict-origin-when-cross-origin',
        })
        .describe(
          "Headers added to every API response (the spec's security headers); replaces the defaults when set.",
        ),
      rate_limiting: z
        .object({
          enabled: z.boolean().default(true).describe('Turns every limit below on or off.'),
          default_limit: rateSchema
            .prefault('100/minute')
            .describe(
              'Requests from one client address, to any endpoint (counted before authentication).',
            ),
          global: rateSchema
            .prefault('6000/minute')
            .describe('All requests to the API together, across every instance.'),
          per_endpoint: z
            .record(
              z
                .string()
                .regex(
                  /^((GET|POST|PUT|PATCH|DELETE) )?\/\S*$/,
                  'must be a path, optionally after a method, e.g. "/api/v1/auth/login"',
                ),
              rateSchema,
            )
            .prefault({ '/api/v1/auth/login': '20/minute', '/api/v1/auth/refresh': '60/minute' })
            .describe(
              'Stricter limits for single endpoints (a path, any method; or "POST /path"), counted per client address.',
            ),
          per_user: z
            .object({
              default: rateSchema.prefault('1000/hour'),
              admin: rateSchema.prefault('5000/hour'),
              facilitator: rateSchema.optional(),
              viewer: rateSchema.optional(),
            })
            .prefault({})
            .describe(
              'Requests of one signed-in user: by role when the role is listed, else `default`.',
            ),
          ip_whitelist: z
            .array(z.string().min(1))
            .default([])
            .describe(
              'Client addresses (exact, or IPv4 CIDR like `10.0.0.0/8`) that no limit applies to.',
            ),
          sync_interval_ms: z.coerce
            .number()
            .int()
            .min(10)
            .max(10_000)
            .default(250)
            .describe(
              'How often API instances share their counts over NATS; the most a cluster can overshoot a limit is what peers admit in one interval.',
            ),
          login: z
            .object({
              max_failures_per_account: z.coerce
                .number()
                .int()
                .min(1)
                .default(5)
                .describe(
                  'Failed logins for one username within `window_minutes` before it is locked.',
                ),
              max_failures_per_ip: z.coerce
                .number()
                .int()
                .min(1)
                .default(20)
                .describe(
                  'Failed logins from one address within `window_minutes` before it is throttled.',
                ),
              window_minutes: z.coerce
                .number()
                .int()
                .min(1)
                .default(15)
                .describe('The period failed logins are counted over.'),
              lockout_minutes: z.coerce
                .number()
                .min(1)
                .default(15)
                .describe('How long a username stays locked after too many failures.'),
            })
            .prefault({}),
        })
        .prefault({}),
      api_keys: z
        .object({
          prefix: z
            .literal('sk_ss_')
            .default('sk_ss_')
            .describe('The API key prefix (fixed by the key format; listed as the spec shows it).'),
          length: z
            .literal(32)
            .default(32)
            .describe('Random characters after the prefix (fixed by the key format).'),
          expiration: z
            .object({
              enabled: z
                .boolean()
                .default(true)
                .describe('New keys expire unless a request asks otherwise.'),
              days: z.coerce
                .number()
                .int()
                .min(1)
                .max(3650)
                .default(90)
                .describe('Expiry of a new API key when none is given.'),
            })
            .prefault({}),
          rate_limiting: z
            .object({
              enabled: z
                .boolean()
                .default(true)
                .describe('Limit the requests made with one API key.'),
              rate: rateSchema
                .prefault('1000/minute')
                .describe('Requests per API key (instead of the per-user limits).'),
            })
            .prefault({}),
          signing: z
            .object({
              required: z
                .boolean()
                .default(false)
                .describe(
                  'Demand a signature (`X-Signature-Timestamp`, `X-Signature`) on every request made with an API key; otherwise only keys created with `require_signature` need one.',
                ),
              window_seconds: z.coerce
                .number()
                .int()
                .min(10)
                .max(3600)
                .default(300)
                .describe(
                  'How far a signature timestamp may be from the server clock, either way; a signature is accepted once within it.',
                ),
            })
            .prefault({}),
        })
        .prefault({}),
      encryption: z
        .object({
          enabled: z
            .boolean()
            .default(true)
            .describe(
              'Encrypt the fields listed in `encrypted_fields` (and Temporal payloads) at rest. Values already encrypted are still read when off.',
            ),
          algorithm: z
            .literal('AES-256-GCM')
            .default('AES-256-GCM')
            .describe('Cipher of every encrypted value (fixed; listed as the spec shows it).'),
          key_file: z
            .string()
            .min(1)
            .optional()
            .describe(
              'JSON file holding the key versions (`{"active", "index_key", "keys": {id: {key, created_at}}}`); `smart-steps keys generate` writes it. Default: `<data_dir>/secrets/encryption-keys.json` when present, which `npm start` creates.',
            ),
          keys: z
            .record(
              z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'key ids are letters, digits, - and _'),
              z.string().min(1),
            )
            .default({})
            .describe(
              'Key versions by id, each 32 random bytes in base64; merged over the key file. Never echoed.',
            ),
          active_key: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,32}$/)
            .optional()
            .describe(
              "The key id new values are encrypted with (default: the key file's `active`).",
            ),
          index_key: z
            .string()
            .min(1)
            .optional()
            .describe(
              "32 bytes in base64 keying the blind indexes that make encrypted fields searchable (default: the key file's). Changing it needs `smart-steps keys reindex`.",
            ),
          key_management: z
            .object({
              key_rotation_days: z.coerce
                .number()
                .int()
                .min(1)
                .default(90)
                .describe('Age after which `smart-steps keys status` says the active key is due.'),
              minimum_key_versions: z.coerce
                .number()
                .int()
                .min(1)
                .default(3)
                .describe(
                  'Key versions `smart-steps keys retire` always leaves in the key file, so backups made under recent keys stay readable.',
                ),
            })
            .prefault({}),
          encrypted_fields: z
            .object({
              client: z
                .array(z.enum(CLIENT_SEALABLE))
                .default([...CLIENT_SEALABLE])
                .describe('Client fields encrypted at rest.'),
              session: z
                .array(z.enum(SESSION_SEALABLE))
                .default([...SESSION_SEALABLE])
                .describe(
                  'Session data encrypted at rest: `notes` (facilitator notes), `transcript` (message content), `assessment` (summaries, insights, analyses).',
                ),
            })
            .prefault({}),
        })
        .prefault({}),
    })
    .prefault({}),
  performance: z
    .object({
      cache: z
        .object({
          enabled: z
            .boolean()
            .default(true)
            .describe(
              "Keep hot session reads in the API's memory, dropped by NATS events and notices so API instances stay coherent.",
            ),
          memory_cache_size_mb: z.coerce
            .number()
            .min(1)
            .max(65_536)
            .default(64)
            .describe('Most memory the read cache of one API process takes (estimated).'),
          ttl_seconds: z.coerce
            .number()
            .int()
            .min(1)
            .max(86_400)
            .default(300)
            .describe(
              'Longest an entry is served without being re-read: the bound on staleness should a change notice be lost.',
            ),
        })
        .prefault({}),
      workers: z
        .object({
          max_cached_workflows: z.coerce
            .number()
            .int()
            .min(0)
            // About 0.6 MB each: 300 keeps a worker under 500 MB with 10,000 sessions waiting
            // (bench (c)); active sessions beyond it are replayed, so scale workers out first.
            .default(300)
            .describe(
              'Session workflows a session worker keeps in memory (sticky cache); beyond it they are replayed on demand.',
            ),
          max_concurrent_workflow_tasks: z.coerce
            .number()
            .int()
            .min(2)
            .default(40)
            .describe('Workflow tasks a session worker runs at once.'),
          max_concurrent_local_activities: z.coerce
            .number()
            .int()
            .min(1)
            .default(100)
            .describe('Bookkeeping writes (local activities) a session worker runs at once.'),
          max_concurrent_activities: z.coerce
            .number()
            .int()
            .min(1)
            .default(50)
            .describe(
              "Persona replies and analyses a persona worker runs at once (bounded by an LLM's rate limits, when one is used).",
            ),
        })
        .prefault({}),
    })
    .prefault({}),
  webhooks: z
    .object({
      allowed_hosts: z
        .preprocess(
          (v) =>
            typeof v === 'string'
              ? v
                  .split(',')
                  .map((h) => h.trim())
                  .filter(Boolean)
              : v,
          z.array(z.string().min(1)),
        )
        .default([])
        .describe(
          'Hosts a webhook may point at even though they are private, loopback or link-local: host names, IP addresses or CIDR ranges (`localhost`, `127.0.0.1`, `10.0.0.0/8`, `::1`). Every other private, loopback, link-local, unspecified or multicast address is refused at registration and at delivery.',
        ),
      request_timeout_seconds: z.coerce
        .number()
        .min(0.1)
        .max(120)
        .default(10)
        .describe('How long one delivery attempt may take before it counts as failed.'),
      retry: z
        .object({
          initial_delay_seconds: z.coerce
            .number()
            .min(0.01)
            .default(10)
            .describe(
              'Delay before the first retry of a failed delivery; doubles after each failure.',
            ),
          max_delay_seconds: z.coerce
            .number()
            .min(0.01)
            .default(3600)
            .describe('Longest delay between two attempts of one delivery.'),
          jitter: z.coerce
            .number()
            .min(0)
            .max(1)
            .default(0.2)
            .describe(
              'Random spread of each delay (0.2 = ±20 %), so failing receivers are not hit in lockstep.',
            ),
          max_age_hours: z.coerce
            .number()
            .min(0.0001)
            .default(24)
            .describe(
              'A delivery still failing this long after its event is given up (it can be redelivered by hand).',
            ),
        })
        .prefault({}),
      failing_after: z.coerce
        .number()
        .int()
        .min(1)
        .default(5)
        .describe(
          'Consecutive failed attempts after which a webhook is marked `failing` (it still receives deliveries).',
        ),
      disable_after: z.coerce
        .number()
        .int()
        .min(1)
        .default(50)
        .describe(
          'Consecutive failed attempts after which a webhook is `disabled` and `webhook.disabled` is published.',
        ),
      concurrency: z.coerce
        .number()
        .int()
        .min(1)
        .max(1000)
        .default(32)
        .describe(
          'Webhooks one dispatcher process delivers to at once; each gets up to 8 of its sessions in flight.',
        ),
      poll_interval_ms: z.coerce
        .number()
        .int()
        .min(10)
        .default(1000)
        .describe(
          'How often a dispatcher looks for deliveries that are due (new events wake it at once).',
        ),
      lease_seconds: z.coerce
        .number()
        .min(1)
        .default(30)
        .describe(
          "How long a dispatcher owns a webhook's queue before another process may take it over (renewed while it works).",
        ),
      ack_wait_seconds: z.coerce
        .number()
        .min(1)
        .default(30)
        .describe(
          "JetStream ack wait of the dispatchers' shared durable consumer: an event taken by a process that died is handed out again after this.",
        ),
      consumer: z
        .string()
        .min(1)
        .default('webhook-dispatcher')
        .describe(
          'Durable consumer name shared by every dispatcher process (so each event is taken once).',
        ),
      retention_days: z.coerce
        .number()
        .min(0.0001)
        .default(30)
        .describe(
          'Finished deliveries (and their attempts) older than this are deleted; they can no longer be redelivered.',
        ),
      user_agent: z
        .string()
        .min(1)
        .default('SmartSteps-Webhooks/1.0')
        .describe('User-Agent header of deliveries.'),
    })
    .prefault({}),
  safety: z
    .object({
      alert_level: alertSeverity
        .default('medium')
        .describe(
          'A client message whose risk screen (self-harm, suicide, harm to others, abuse) reaches this level raises `alert.raised` for the facilitator.',
        ),
      crisis_response_level: alertSeverity
        .default('high')
        .describe(
          'At this level the persona does not answer in role: it gives a supportive reply with the crisis resources below, whatever engine or LLM is configured.',
        ),
      crisis_resources: z
        .array(
          z.object({
            name: z.string().min(1),
            contact: z.string().min(1).describe('What to do, e.g. `call or text 988`.'),
            region: z.string().min(1).optional(),
            for: z
              .array(z.enum(RISK_CATEGORIES))
              .min(1)
              .optional()
              .describe('The risks it serves; every risk when absent.'),
          }),
        )
        .min(1)
        .default(DEFAULT_CRISIS_SETTINGS.crisis_resources)
        .describe(
          'Crisis lines the safe reply names (set them for your region in the config file). Emergency services are always mentioned.',
        ),
      emergency_number: z
        .string()
        .min(1)
        .default(DEFAULT_CRISIS_SETTINGS.emergency_number)
        .describe('How the safe reply names emergency services.'),
    })
    .prefault({}),
  llm: z
    .object({
      provider: llmProvider
        .default('local')
        .describe(
          "Who writes the personas' replies: `local` (the offline deterministic engine), `openai` (any OpenAI-compatible chat API: OpenAI, Ollama, vLLM, llama.cpp server, LM Studio) or `anthropic`. Analysis and progress reports always use the local engine.",
        ),
      personas: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_]{2,63}$/, 'must be a persona id'),
          z.strictObject({
            provider: llmProvider,
            model: z.string().min(1).optional(),
          }),
        )
        .default({})
        .describe(
          "Per-persona choice overriding `llm.provider`, e.g. `{ dr_morgan_hayes: { provider: anthropic, model: claude-sonnet-4-5 } }`; `model` overrides that provider's model. In the environment: `SMARTSTEPS_LLM__PERSONAS__<PERSONA_ID>__PROVIDER`.",
        ),
      openai: llmEndpoint({
        base_url: 'https://api.openai.com/v1',
        model: 'gpt-4o-mini',
        what: 'OpenAI-compatible',
        url: '`{base_url}/chat/completions` is called, so include the version path (Ollama: `http://127.0.0.1:11434/v1`; llama.cpp server and vLLM: `http://127.0.0.1:8080/v1`; LM Studio: `http://127.0.0.1:1234/v1`)',
        key: 'sent as a Bearer token; leave unset for servers that need none, such as Ollama or llama.cpp. `OPENAI_API_KEY` is used too, but only while `base_url` is api.openai.com',
      }),
      anthropic: llmEndpoint({
        base_url: 'https://api.anthropic.com',
        model: 'claude-3-5-haiku-latest',
        what: 'Anthropic',
        url: '`{base_url}/v1/messages` is called',
        key: 'sent as `x-api-key`; required when a persona uses Anthropic. `ANTHROPIC_API_KEY` is used too, but only while `base_url` is api.anthropic.com',
      }),
      timeout_seconds: z.coerce
        .number()
        .min(1)
        // The persona activity has 2 minutes (workflows/session.ts); the local engine's answer
        // after a failed provider must still fit in them.
        .max(100)
        .default(45)
        .describe(
          "Budget of one reply from a provider, retries included; when it is spent the local engine answers instead. At most 100, so the fallback fits in the reply activity's 2 minutes.",
        ),
      first_token_timeout_seconds: z.coerce
        .number()
        .min(0.1)
        .max(100)
        .default(15)
        .describe(
          'How long one request may take to produce its first token (connecting included) before it is abandoned and retried.',
        ),
      max_retries: z.coerce
        .number()
        .int()
        .min(0)
        .max(10)
        .default(2)
        .describe(
          'Further attempts after a failed request (5xx, 429, timeout, connection error), with doubling back-off, only while nothing has been streamed yet; once tokens went out a failure goes straight to the local engine.',
        ),
      retry_delay_seconds: z.coerce
        .number()
        .min(0)
        .max(30)
        .default(0.5)
        .describe('Back-off before the first retry; doubles after each.'),
      temperature: z.coerce
        .number()
        .min(0)
        .max(2)
        .default(0.7)
        .describe('Sampling temperature sent to the provider.'),
      max_tokens: z.coerce
        .number()
        .int()
        .min(16)
        .max(8192)
        .default(400)
        .describe('Longest reply, in tokens, a provider may write.'),
    })
    .prefault({}),
  metrics: z
    .object({
      host: z
        .string()
        .min(1)
        .default('127.0.0.1')
        .describe(
          'Address every process serves its Prometheus metrics on; a listener of its own, never the API port, so metrics are not public with the API. `0.0.0.0` lets a Prometheus on another host scrape.',
        ),
      ports: z
        .object({
          api: metricsPort(9464, 'the API'),
          personas: metricsPort(9465, 'a persona worker'),
          sessions: metricsPort(9466, 'a session worker'),
          webhooks: metricsPort(9467, 'a webhook dispatcher'),
        })
        .prefault({}),
      port: z.coerce
        .number()
        .int()
        .min(0)
        .max(65_535)
        .optional()
        .describe(
          "Deprecated, from when only persona workers had metrics: the persona worker's port. When set it wins over `ports.personas`.",
        ),
      temporal_sdk: z
        .boolean()
        .default(true)
        .describe(
          "Add the Temporal SDK's own metrics (`temporal_…`: task slots, poll and schedule-to-start latencies, request failures) to each worker's `/metrics`. The SDK exports them on a loopback port picked at start; the worker reads them from there on every scrape.",
        ),
      sessions_refresh_seconds: z.coerce
        .number()
        .min(0)
        .max(3600)
        .default(30)
        .describe(
          "How stale the API's `smartsteps_sessions{status}` may be: sessions are counted on a scrape at most this often, since counting reads the sessions collection.",
        ),
    })
    .prefault({}),
  logging: z
    .object({
      level: logLevel.default('info').describe('Log level of the JSON logs.'),
    })
    .prefault({}),
  auth: z
    .object({
      jwt_secret: z
        .string()
        .min(32, 'must be at least 32 characters')
        .optional()
        .describe(
          'Secret (HS256 key) that signs access tokens, at least 32 characters; never echoed. Required by the API; `npm start` generates one in `<data_dir>/secrets/jwt-secret`.',
        ),
      jwt_issuer: z
        .string()
        .min(1)
        .default('smart-steps')
        .describe('`iss` claim of access tokens; tokens with another issuer are rejected.'),
      jwt_audience: z
        .string()
        .min(1)
        .default('smart-steps-api')
        .describe('`aud` claim of access tokens; tokens for another audience are rejected.'),
      access_token_ttl_seconds: z.coerce
        .number()
        .int()
        .min(60)
        .max(86_400)
        .default(900)
        .describe(
          "Lifetime of an access token (JWT). The user's role in it is trusted until it expires.",
        ),
      refresh_token_ttl_days: z.coerce
        .number()
        .int()
        .min(1)
        .max(365)
        .default(14)
        .describe('Lifetime of a refresh token; each refresh issues a new one (rotation).'),
      api_keys: z
        .object({
          cache_seconds: z.coerce
            .number()
            .int()
            .min(0)
            .max(3600)
            .default(30)
            .describe(
              'How long a process trusts a verified API key without reading it again; a revocation clears it at once.',
            ),
        })
        .prefault({}),
    })
    .prefault({}),
  dev_stack: z
    .object({
      data_dir: z
        .string()
        .min(1)
        .default('.data')
        .describe(
          "Where `npm start` keeps Temporal's SQLite file, the JetStream store, FerretDB's data and logs.",
        ),
      bin_cache: z
        .string()
        .min(1)
        .default(path.join(os.homedir(), '.cache', 'smart-steps', 'bin'))
        .describe('Where provisioned server binaries are cached, keyed by version.'),
      temporal_ui_port: port.default(8233).describe('Temporal Web UI port.'),
      temporal_http_port: port.default(7243).describe("Temporal's HTTP API port."),
      temporal_metrics_port: port
        .default(7244)
        .describe("Temporal server's Prometheus metrics port."),
      nats_monitor_port: port.default(8222).describe('NATS monitoring port (/healthz, /varz).'),
    })
    .prefault({}),
});

export type Config = z.infer<typeof configSchema>;

/** A config problem, stated in one line that names the key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadOptions {
  /** Explicit YAML path; otherwise `--config` in argv, then SMARTSTEPS_CONFIG. */
  file?: string;
  argv?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Values applied over the file and the environment (tests, CLI flags). */
  overrides?: Record<string, unknown>;
}

const ENV_PREFIX = 'SMARTSTEPS_';

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file =
    options.file ?? configPathFromArgv(options.argv ?? process.argv) ?? env.SMARTSTEPS_CONFIG;

  let raw: Record<string, unknown> = {};
  if (file) raw = readYamlFile(file);

  const fromEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === 'SMARTSTEPS_CONFIG' || value === undefined)
      continue;
    if (!name.includes('__')) continue;
    const keyPath = name.slice(ENV_PREFIX.length).toLowerCase().split('__');
    setPath(raw, keyPath, parseScalar(value));
    fromEnv[keyPath.join('.')] = name;
  }
  for (const [dotted, value] of Object.entries(options.overrides ?? {})) {
    setPath(raw, dotted.split('.'), value);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.join('.') || '(root)';
    const source = fromEnv[key] ? ` (from ${fromEnv[key]})` : file ? ` (in ${file})` : '';
    const given = valueAt(raw, issue.path);
    // Values of keys that may carry credentials (a URI with a password, a secret) are never echoed.
    const mayHoldSecret = /uri|url|password|secret|token|key/i.test(key);
    const got =
      given === undefined || typeof given === 'object' || mayHoldSecret
        ? ''
        : `, got ${JSON.stringify(given)}`;
    throw new ConfigError(`invalid configuration: ${key}: ${describeIssue(issue)}${got}${source}`);
  }
  rejectUnknownKeys(raw, result.data, file);
  return result.data;
}

/** A typo in a key is as bad as a wrong value: it silently leaves a default in force. */
function rejectUnknownKeys(
  raw: unknown,
  parsed: unknown,
  file: string | undefined,
  at: string[] = [],
): void {
  if (!isPlainObject(raw) || !isPlainObject(parsed)) return;
  for (const key of Object.keys(raw)) {
    const here = [...at, key];
    if (!(key in parsed)) {
      throw new ConfigError(
        `invalid configuration: ${here.join('.')}: unknown key${file ? ` (in ${file})` : ''}`,
      );
    }
    rejectUnknownKeys(raw[key], parsed[key], file, here);
  }
}

function describeIssue(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.expected === 'number') return 'expected a number';
  return issue.message.replace(/^Invalid (input|option): /, '').replace(/^Too (big|small): /, '');
}

function valueAt(root: unknown, keyPath: PropertyKey[]): unknown {
  let node = root;
  for (const key of keyPath) {
    if (!isPlainObject(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function configPathFromArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config') return argv[i + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

function readYamlFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new ConfigError(`config file ${file} is not valid YAML: ${first}`);
  }
  if (doc == null) return {};
  if (!isPlainObject(doc))
    throw new ConfigError(`config file ${file} must hold a mapping of sections`);
  return doc;
}

function parseScalar(value: string): unknown {
  try {
    const parsed: unknown = parseYaml(value);
    return parsed === null ? value : parsed;
  } catch {
    return value;
  }
}

function setPath(target: Record<string, unknown>, keyPath: string[], value: unknown): void {
  let node = target;
  for (const key of keyPath.slice(0, -1)) {
    if (!isPlainObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keyPath[keyPath.length - 1]!] = value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * For entry points: load, or print the one-line problem and exit. Exit code 2 = bad configuration.
 */
export function loadConfigOrExit(options: LoadOptions = {}): Config {
  try {
    return loadConfig(options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`smart-steps: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * The JWT secret has no default (a shared default would let anyone mint tokens), so only the
 * processes that sign or verify tokens demand it, with one line saying how to set it.
 */
export function requireJwtSecret(config: Config): string {
  const secret = config.auth.jwt_secret;
  if (!secret) {
    throw new ConfigError(
      'invalid configuration: auth.jwt_secret: required (at least 32 characters; set it in the config file or SMARTSTEPS_AUTH__JWT_SECRET)',
    );
  }
  return secret;
}

/**
 * A provider's API key: `api_key` (from the file or SMARTSTEPS_LLM__<PROVIDER>__API_KEY), else the
 * contents of `api_key_file`, else the vendor's conventional variable (OPENAI_API_KEY,
 * ANTHROPIC_API_KEY) — that last one only while `base_url` is the vendor's own host, so a key
 * meant for OpenAI is never sent to some other OpenAI-compatible server. Read when a worker
 * starts, so a rotated file needs a restart.
 */
const VENDOR_KEYS = {
  openai: { env: 'OPENAI_API_KEY', host: 'api.openai.com' },
  anthropic: { env: 'ANTHROPIC_API_KEY', host: 'api.anthropic.com' },
} as const;

export function llmApiKey(
  config: Config,
  provider: 'openai' | 'anthropic',
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const settings = config.llm[provider];
  if (settings.api_key) return settings.api_key;
  if (!settings.api_key_file) {
    const vendor = VENDOR_KEYS[provider];
    const value = env[vendor.env];
    return value && new URL(settings.base_url).host === vendor.host ? value : undefined;
  }
  let key: string;
  try {
    key = readFileSync(settings.api_key_file, 'utf8').trim();
  } catch (err) {
    throw new ConfigError(
      `invalid configuration: llm.${provider}.api_key_file: cannot read ${settings.api_key_file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  if (!key) {
    throw new ConfigError(
      `invalid configuration: llm.${provider}.api_key_file: ${settings.api_key_file} is empty`,
    );
  }
  return key;
}

/**
 * How scripts hand a password to the CLI without putting it on the command line (where `ps`
 * shows it). Not a config key: it is input to one command, not a setting.
 */
export function readPasswordFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.SMARTSTEPS_PASSWORD;
  return value === undefined || value === '' ? undefined : value;
}

/** The same for an API key (`smart-steps test-persona --api-key`): SMARTSTEPS_API_KEY. */
export function readApiKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.SMARTSTEPS_API_KEY;
  return value === undefined || value === '' ? undefined : value;
}

/** Environment facts that are not settings but that tooling needs; kept here so env stays in one place. */
export const runtimeEnv = {
  isCI: (env: NodeJS.ProcessEnv = process.env) => env.CI === 'true' || env.CI === '1',
  goBinary: (env: NodeJS.ProcessEnv = process.env) => env.GO ?? 'go',
  pathDirs: (env: NodeJS.ProcessEnv = process.env) =>
    (env.PATH ?? '').split(path.delimiter).filter(Boolean),
};
