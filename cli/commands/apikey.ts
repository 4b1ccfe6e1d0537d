/**
 * `smart-steps apikey generate|list|revoke|rotate`. A generated key is printed once and never
 * again (only its hash is stored), and so is its signing secret (stored encrypted, because the
 * server needs it to check signatures); lists show ids, which are enough to revoke or rotate.
 */
import { createLogger } from '../../lib/log';
import {
  ApiKeyStore,
  apiKeyOptions,
  type ApiKeyInfo,
  type GeneratedApiKey,
} from '../../lib/auth/api-keys';
import { keyringIfConfigured } from '../../lib/auth/signing-secrets';
import { SCOPES, ScopeSchema, type Scope } from '../../lib/auth/roles';
import { UserStore } from '../../lib/auth/users';
import { NotFoundError } from '../../lib/errors';
import type { Config } from '../../lib/config';
import type { Db } from 'mongodb';
import type { NatsConnection } from '@nats-io/transport-node';
import { UsageError } from '../index';
import {
  asUsage,
  cliActor,
  commandConfig,
  parseFlags,
  printTable,
  required,
  subcommand,
  when,
  withNats,
  withStore,
} from './support';

export async function runApiKey(args: string[]): Promise<void> {
  const [sub, rest] = subcommand(args, ['generate', 'list', 'revoke', 'rotate']);
  if (sub === 'generate') return generate(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'rotate') return rotate(rest);
  return revoke(rest);
}

function keyStore(db: Db, config: Config, nc?: NatsConnection): ApiKeyStore {
  return new ApiKeyStore(db, {
    ...apiKeyOptions(config),
    nc,
    keyring: keyringIfConfigured(config),
    log: createLogger('cli', 'warn'),
  });
}

async function generate(args: string[]): Promise<void> {
  const flags = parseFlags(args, {
    name: { type: 'string' },
    expiry: { type: 'string' },
    scopes: { type: 'string' },
    user: { type: 'string' },
    'allowed-ips': { type: 'string' },
    'require-signature': { type: 'boolean' },
  });
  const name = required(flags.name, 'name');
  const allowedIps = flags['allowed-ips']
    ?.split(',')
    .map((ip) => ip.trim())
    .filter(Boolean);
  let expiryDays: number | undefined;
  if (flags.expiry !== undefined) {
    expiryDays = Number(flags.expiry);
    if (!/^\d+$/.test(flags.expiry) || !Number.isSafeInteger(expiryDays)) {
      throw new UsageError('--expiry must be a whole number of days (0 = never expires)');
    }
  }
  const scopes = flags.scopes === undefined ? undefined : parseScopes(flags.scopes);
  const config = commandConfig(args);

  const { owner, ...made } = await withStore(config, async ({ db }) => {
    let owner: { user_id: string; username: string } | undefined;
    if (flags.user !== undefined) {
      owner = (await new UserStore(db).findByLogin(flags.user)) ?? undefined;
      if (!owner) throw new NotFoundError(`no user '${flags.user}'`);
    }
    const made = await asUsage(
      keyStore(db, config).generate({
        name,
        scopes,
        expiryDays,
        ownerUserId: owner?.user_id,
        ...(allowedIps?.length ? { allowedIps } : {}),
        ...(flags['require-signature'] ? { requireSignature: true } : {}),
        createdBy: cliActor(),
      }),
    );
    return { ...made, owner };
  });
  printNewKey(
    'API key created.',
    made,
    owner ? `${owner.username} (${owner.user_id})` : 'system',
    config.security.api_keys.signing.required,
  );
}

function printNewKey(
  headline: string,
  { key, signingSecret, info }: GeneratedApiKey,
  owner: string,
  everyKeySigns: boolean,
): void {
  const signing = !signingSecret
    ? 'unavailable: no encryption keys configured (security.encryption), so no signing secret'
    : info.require_signature || everyKeySigns
      ? 'required: sign every request with the signing secret'
      : 'optional (required once security.api_keys.signing.required is on)';
  process.stdout.write(
    [
      `${headline} Copy it now: it is not stored and cannot be shown again.`,
      '',
      `  ${key}`,
      '',
      `  id       ${info.id}`,
      `  name     ${info.name}`,
      `  scopes   ${info.scopes.join(', ')}`,
      `  owner    ${owner}`,
      ...(info.allowed_ips ? [`  from     ${info.allowed_ips.join(', ')}`] : []),
      `  expires  ${when(info.expires_at, 'never')}`,
      `  signing  ${signing}`,
      '',
      ...(signingSecret
        ? [
            'Signing secret, also shown only now (X-Signature: sha256=<hex HMAC-SHA256 of timestamp + body>):',
            '',
            `  ${signingSecret}`,
            '',
          ]
        : []),
    ].join('\n'),
  );
}

async function rotate(args: string[]): Promise<void> {
  const flags = parseFlags(args, { id: { type: 'string' }, 'overlap-days': { type: 'string' } });
  const id = required(flags.id, 'id');
  const overlap = flags['overlap-days'] ?? '7';
  if (!/^\d+$/.test(overlap)) throw new UsageError('--overlap-days must be a whole number of days');
  const config = commandConfig(args);
  const { previous, ...made } = await withStore(config, ({ db }) =>
    asUsage(keyStore(db, config).rotate(id, Number(overlap), cliActor())),
  );
  printNewKey(
    `API key ${previous.id} rotated: it keeps working until ${when(previous.expires_at)}.`,
    made,
    made.info.owner_user_id ?? 'system',
    config.security.api_keys.signing.required,
  );
}

function parseScopes(text: string): Scope[] {
  const scopes = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (scopes.length === 0) throw new UsageError('--scopes needs at least one scope');
  for (const scope of scopes) {
    if (!ScopeSchema.safeParse(scope).success) {
      throw new UsageError(`unknown scope '${scope}' (known: ${SCOPES.join(', ')})`);
    }
  }
  return scopes as Scope[];
}

async function list(args: string[]): Promise<void> {
  const flags = parseFlags(args, { json: { type: 'boolean' } });
  const config = commandConfig(args);
  const { keys, usernames } = await withStore(config, async ({ db }) => {
    const keys = await keyStore(db, config).list();
    const users = await new UserStore(db).list();
    return { keys, usernames: new Map(users.map((u) => [u.user_id, u.username])) };
  });
  if (flags.json) {
    process.stdout.write(JSON.stringify(keys, null, 2) + '\n');
    return;
  }
  const ownerOf = (k: ApiKeyInfo) =>
    k.owner_user_id ? (usernames.get(k.owner_user_id) ?? `${k.owner_user_id} (deleted)`) : 'system';
  printTable(
    ['ID', 'NAME', 'SCOPES', 'OWNER', 'CREATED', 'EXPIRES', 'LAST USED', 'SIGNING', 'STATUS'],
    keys.map((k) => [
      k.id,
      k.name,
      scopeSummary(k.scopes),
      ownerOf(k),
      when(k.created_at),
      when(k.expires_at, 'never'),
      when(k.last_used_at, 'never'),
      signingOf(k, config.security.api_keys.signing.required),
      k.status,
    ]),
    'no API keys',
  );
}

function signingOf(k: ApiKeyInfo, everyKeySigns: boolean): string {
  if (k.require_signature || everyKeySigns) return k.has_signing_secret ? 'required' : 'no secret';
  return k.has_signing_secret ? 'optional' : '-';
}

/** The common sets by name, so the table stays readable. */
function scopeSummary(scopes: Scope[]): string {
  const has = new Set(scopes);
  if (SCOPES.every((s) => has.has(s))) return 'all';
  if (SCOPES.every((s) => has.has(s) || s === 'admin')) return 'all but admin';
  return scopes.join(',');
}

async function revoke(args: string[]): Promise<void> {
  const flags = parseFlags(args, { id: { type: 'string' } });
  const id = required(flags.id, 'id');
  const config = commandConfig(args);
  const info = await withStore(config, ({ db }) =>
    withNats(config, (nc) => asUsage(keyStore(db, config, nc).revoke(id))),
  );
  process.stdout.write(`revoked ${info.id} (${info.name}) at ${when(info.revoked_at)}\n`);
}
