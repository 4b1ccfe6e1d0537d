/**
 * `smart-steps keys generate|status|rotate|retire`: the encryption key versions of the key file.
 * A rotation is: `keys generate` (a new active version; running processes pick it up from the
 * file within seconds, and read every version still in it), then `keys rotate` (re-encrypts
 * older values in batches while the apps serve), then, once nothing uses an old version — no
 * stored value and no running session in Temporal — and backups made under it have expired,
 * `keys retire`. Key material is never printed.
 */
import { existsSync, mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../index';
import type { Config } from '../../lib/config';
import { FieldCrypto } from '../../lib/crypto/fields';
import { addKeyVersion, defaultKeyFile, readKeyFile, writeKeyFile } from '../../lib/crypto/keyring';
import { keyUsage, rotateKeys } from '../../lib/crypto/rotation';
import { runningWorkflowsUnder } from '../../lib/crypto/payload-keys';
import { commandConfig, parseFlags, printTable, required, subcommand, withStore } from './support';

export async function runKeys(args: string[]): Promise<void> {
  const [sub, rest] = subcommand(args, ['generate', 'status', 'rotate', 'retire']);
  if (sub === 'generate') return generate(rest);
  if (sub === 'status') return status(rest);
  if (sub === 'rotate') return rotate(rest);
  return retire(rest);
}

/** The key file the commands change: the configured one, else the dev stack's. */
function keyFileOf(config: Config): string {
  return config.security.encryption.key_file ?? defaultKeyFile(config);
}

function generate(args: string[]): void {
  parseFlags(args, {});
  const config = commandConfig(args);
  const file = keyFileOf(config);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const { id, created } = addKeyVersion(file);
  process.stdout.write(
    created
      ? `created ${file} with key ${id} (active). Back it up: encrypted data cannot be read without it.\n`
      : `added key ${id} to ${file}; it is now the active key. Running processes start using it within seconds; run \`smart-steps keys rotate\` to re-encrypt older values.\n`,
  );
  if (
    Object.keys(config.security.encryption.keys).length ||
    config.security.encryption.active_key
  ) {
    process.stdout.write(
      'note: security.encryption.keys/active_key in the config override the key file; change them there too.\n',
    );
  }
}

async function status(args: string[]): Promise<void> {
  const flags = parseFlags(args, { json: { type: 'boolean' } });
  const config = commandConfig(args);
  const fields = FieldCrypto.fromConfig(config);
  const ring = fields.keyring;
  if (!ring) {
    process.stdout.write('encryption: no keys configured\n');
    return;
  }
  const usage = await withStore(config, (store) => keyUsage(store.db, fields));
  const totals: Record<string, number> = {};
  for (const counts of Object.values(usage)) {
    for (const [version, n] of Object.entries(counts)) totals[version] = (totals[version] ?? 0) + n;
  }
  const maxAge = config.security.encryption.key_management.key_rotation_days;
  const rows = ring.versions.map((id) => {
    const created = ring.createdAtOf(id);
    const days = created ? Math.floor((Date.now() - Date.parse(created)) / 86_400_000) : undefined;
    const due = id === ring.activeId && days !== undefined && days >= maxAge;
    return [
      id,
      id === ring.activeId ? 'active' : '',
      created ?? '-',
      days === undefined ? '-' : `${days}${due ? ' (rotation due)' : ''}`,
      String(totals[id] ?? 0),
    ];
  });
  if (flags.json) {
    const keys = ring.versions.map((id, i) => ({
      id,
      active: id === ring.activeId,
      created_at: ring.createdAtOf(id) ?? null,
      rotation_due: rows[i]![3]!.includes('due'),
      values: totals[id] ?? 0,
    }));
    process.stdout.write(
      JSON.stringify({ keys, plain_values: totals.plain ?? 0, by_collection: usage }, null, 2) +
        '\n',
    );
    return;
  }
  printTable(['KEY', 'STATE', 'CREATED', 'AGE (DAYS)', 'VALUES'], rows, 'no keys');
  if (totals.plain) {
    process.stdout.write(
      `${totals.plain} value(s) stored unencrypted; \`smart-steps keys rotate\` encrypts them.\n`,
    );
  }
  const stale = ring.versions.filter((id) => id !== ring.activeId && (totals[id] ?? 0) > 0);
  if (stale.length) {
    process.stdout.write(
      `values under older keys (${stale.join(', ')}); \`smart-steps keys rotate\` re-encrypts them.\n`,
    );
  }
}

async function rotate(args: string[]): Promise<void> {
  const flags = parseFlags(args, { 'batch-size': { type: 'string' } });
  const batchSize = flags['batch-size'] === undefined ? 200 : Number(flags['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new UsageError('--batch-size must be a whole number from 1 to 10000');
  }
  const config = commandConfig(args);
  const fields = FieldCrypto.fromConfig(config);
  if (!fields.keyring) throw new UsageError('no encryption keys are configured');
  process.stdout.write(`re-encrypting under key ${fields.activeKeyId}, ${batchSize} per batch\n`);
  const result = await withStore(config, (store) =>
    rotateKeys(store.db, fields, {
      batchSize,
      onProgress: (p) =>
        process.stdout.write(`  ${p.collection}: ${p.scanned} scanned, ${p.rewritten} rewritten\n`),
    }),
  );
  process.stdout.write(
    `done: ${result.rewritten} of ${result.scanned} document(s) re-encrypted` +
      (result.skipped
        ? `, ${result.skipped} changed meanwhile by the apps (already current)`
        : '') +
      '\n',
  );
}

async function retire(args: string[]): Promise<void> {
  const flags = parseFlags(args, { id: { type: 'string' } });
  const id = required(flags.id, 'id');
  const config = commandConfig(args);
  const file = keyFileOf(config);
  if (!existsSync(file)) throw new UsageError(`no key file at ${file}`);
  const kf = readKeyFile(file);
  if (!kf.keys[id]) throw new UsageError(`no key '${id}' in ${file}`);
  if (kf.active === id) throw new UsageError(`key '${id}' is the active key`);
  const minimum = config.security.encryption.key_management.minimum_key_versions;
  if (Object.keys(kf.keys).length - 1 < minimum) {
    throw new UsageError(
      `retiring '${id}' would leave fewer than ${minimum} key versions (security.encryption.key_management.minimum_key_versions)`,
    );
  }
  const fields = FieldCrypto.fromConfig(config);
  const usage = await withStore(config, (store) => keyUsage(store.db, fields));
  const inUse = Object.values(usage).reduce((n, counts) => n + (counts[id] ?? 0), 0);
  if (inUse > 0) {
    throw new UsageError(
      `${inUse} value(s) are still encrypted under '${id}'; run \`smart-steps keys rotate\` first`,
    );
  }
  const running = await runningWorkflowsUnder(config, kf, id);
  if (running > 0) {
    throw new UsageError(
      `${running} running session workflow(s) in Temporal started while '${id}' was active; their histories hold payloads encrypted under it, which they need to replay. Retire it once they have finished (finished histories stay readable only while the key is kept, until the namespace's retention removes them)`,
    );
  }
  delete kf.keys[id];
  writeKeyFile(file, kf);
  process.stdout.write(`retired key ${id}; it is no longer in ${file}\n`);
}
