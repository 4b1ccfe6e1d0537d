/**
 * The encryption keys: versions by id, the active one, and the blind-index key. Values sealed
 * under any version stay readable while that version is in the ring; new values use the active
 * one. Each purpose (client PII, notes, transcript, …) gets its own key, derived with HKDF from
 * the version's master key, so one version in the config still gives separate keys per category.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Config } from '../config';
import { ConfigError } from '../config';
import type { KeyPurpose } from './categories';

export const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** How often a process looks at its key file for a new active version. */
const REFRESH_MS = 5_000;

function fileTime(file: string): number | undefined {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
}

/** The key file `npm start` and `smart-steps keys generate` write. */
export interface KeyFile {
  active: string;
  index_key: string;
  keys: Record<string, { key: string; created_at: string; retired_at?: string }>;
}

export const defaultKeyFile = (config: Config) =>
  path.join(config.dev_stack.data_dir, 'secrets', 'encryption-keys.json');

export class Keyring {
  private readonly derived = new Map<string, Buffer>();
  private masters: Map<string, Buffer>;
  private createdAt: Map<string, string>;
  private active: string;
  private indexMaster: Buffer;
  private checkedAt = Date.now();
  private fileMtime: number | undefined;

  private constructor(
    private readonly source: () => KeyMaterial,
    readonly file: string | undefined,
  ) {
    const m = source();
    this.masters = m.masters;
    this.createdAt = m.createdAt;
    this.active = m.active;
    this.indexMaster = m.index;
    if (file) this.fileMtime = fileTime(file);
  }

  /**
   * From `security.encryption`: the key file (configured, or `<data_dir>/secrets/…` when present)
   * with `keys`, `active_key` and `index_key` from the config over it. Throws a ConfigError naming
   * what is missing.
   */
  static fromConfig(config: Config): Keyring {
    const enc = config.security.encryption;
    const file =
      enc.key_file ?? (existsSync(defaultKeyFile(config)) ? defaultKeyFile(config) : undefined);
    return new Keyring(() => loadMaterial(enc, file), file);
  }

  /** A ring from literal material (tests, tools). */
  static of(keys: Record<string, Buffer>, active: string, index: Buffer): Keyring {
    return new Keyring(
      () => ({
        masters: new Map(Object.entries(keys)),
        createdAt: new Map(),
        active,
        index,
      }),
      undefined,
    );
  }

  /**
   * The version new values are sealed with. A ring read from a key file looks at the file again
   * at most every REFRESH_MS, so `smart-steps keys generate` takes effect without restarts.
   */
  get activeId(): string {
    if (this.file && Date.now() - this.checkedAt > REFRESH_MS) {
      this.checkedAt = Date.now();
      const mtime = fileTime(this.file);
      if (mtime !== this.fileMtime) {
        this.fileMtime = mtime;
        this.reload();
      }
    }
    return this.active;
  }

  get versions(): string[] {
    return [...this.masters.keys()];
  }

  /** When the version was made, if the key file says. */
  createdAtOf(id: string): string | undefined {
    return this.createdAt.get(id);
  }

  has(id: string): boolean {
    return this.masters.has(id);
  }

  /**
   * The 32-byte key of `purpose` under version `id` (the active one by default). An unknown id
   * first re-reads the key file: another instance may have started using a version added since
   * this process started, and a rolling key change must not make its values unreadable here.
   */
  key(purpose: KeyPurpose, id: string = this.active): Buffer {
    const cacheKey = `${id}\n${purpose}`;
    const hit = this.derived.get(cacheKey);
    if (hit) return hit;
    let master = this.masters.get(id);
    if (!master && this.reload()) master = this.masters.get(id);
    if (!master) throw new UnknownKeyError(id);
    const k = Buffer.from(
      hkdfSync('sha256', master, Buffer.alloc(0), `smart-steps/${purpose}`, 32),
    );
    this.derived.set(cacheKey, k);
    return k;
  }

  /**
   * A blind index of `token`: a keyed hash that matches equal tokens without revealing them.
   * Independent of the key versions, so rotating keys leaves search working.
   */
  blindIndex(purpose: KeyPurpose, token: string): string {
    return createHmac('sha256', this.indexMaster)
      .update(`${purpose}\n${token}`)
      .digest('base64url')
      .slice(0, 22);
  }

  /** Re-reads the key material; true when it changed anything. */
  reload(): boolean {
    let m: KeyMaterial;
    try {
      m = this.source();
    } catch {
      return false;
    }
    const changed =
      m.active !== this.active ||
      m.masters.size !== this.masters.size ||
      [...m.masters.keys()].some((id) => !this.masters.has(id));
    this.masters = m.masters;
    this.createdAt = m.createdAt;
    this.active = m.active;
    this.indexMaster = m.index;
    if (changed) this.derived.clear();
    return changed;
  }
}

export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`encryption key '${keyId}' is not in the keyring`);
    this.name = 'UnknownKeyError';
  }
}

interface KeyMaterial {
  masters: Map<string, Buffer>;
  createdAt: Map<string, string>;
  active: string;
  index: Buffer;
}

function loadMaterial(
  enc: Config['security']['encryption'],
  file: string | undefined,
): KeyMaterial {
  const masters = new Map<string, Buffer>();
  const createdAt = new Map<string, string>();
  let active: string | undefined;
  let index: string | undefined;
  if (file) {
    const kf = readKeyFile(file);
    for (const [id, k] of Object.entries(kf.keys)) {
      masters.set(id, decodeKey(k.key, `${file}: keys.${id}`));
      createdAt.set(id, k.created_at);
    }
    active = kf.active;
    index = kf.index_key;
  }
  for (const [id, k] of Object.entries(enc.keys)) {
    masters.set(id, decodeKey(k, `security.encryption.keys.${id}`));
  }
  active = enc.active_key ?? active;
  index = enc.index_key ?? index;
  if (masters.size === 0) {
    throw new ConfigError(
      'invalid configuration: security.encryption: no keys (set security.encryption.key_file, or run `smart-steps keys generate`; `npm start` makes one)',
    );
  }
  if (!active) {
    if (masters.size > 1) {
      throw new ConfigError(
        'invalid configuration: security.encryption.active_key: required when there are several keys',
      );
    }
    active = [...masters.keys()][0]!;
  }
  if (!masters.has(active)) {
    throw new ConfigError(
      `invalid configuration: security.encryption.active_key: '${active}' is not among the keys`,
    );
  }
  if (!index) {
    throw new ConfigError(
      'invalid configuration: security.encryption.index_key: required (32 bytes, base64)',
    );
  }
  return {
    masters,
    createdAt,
    active,
    index: decodeKey(index, 'security.encryption.index_key'),
  };
}

function decodeKey(text: string, where: string): Buffer {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== 32) {
    throw new ConfigError(`invalid configuration: ${where}: must be 32 bytes in base64`);
  }
  return bytes;
}

export function readKeyFile(file: string): KeyFile {
  let parsed: KeyFile;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
  } catch (err) {
    throw new ConfigError(
      `invalid configuration: security.encryption.key_file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'not JSON'})`,
    );
  }
  if (!parsed || typeof parsed !== 'object' || typeof parsed.keys !== 'object') {
    throw new ConfigError(`invalid configuration: ${file}: expected {active, index_key, keys}`);
  }
  for (const id of Object.keys(parsed.keys)) {
    if (!KEY_ID.test(id)) throw new ConfigError(`invalid configuration: ${file}: key id '${id}'`);
  }
  return parsed;
}

/** Writes the key file atomically, readable by the owner only. */
export function writeKeyFile(file: string, kf: KeyFile): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(kf, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

/**
 * Adds a new key version to the file (creating the file when absent) and makes it active. The
 * id is `k<n>`, one past the highest.
 */
export function addKeyVersion(file: string, now = new Date()): { id: string; created: boolean } {
  const kf: KeyFile = existsSync(file)
    ? readKeyFile(file)
    : { active: '', index_key: randomBytes(32).toString('base64'), keys: {} };
  const highest = Object.keys(kf.keys)
    .map((id) => /^k(\d+)$/.exec(id)?.[1])
    .filter((n): n is string => n !== undefined)
    .reduce((max, n) => Math.max(max, Number(n)), 0);
  const id = `k${highest + 1}`;
  kf.keys[id] = { key: randomBytes(32).toString('base64'), created_at: now.toISOString() };
  const created = kf.active === '';
  kf.active = id;
  writeKeyFile(file, kf);
  return { id, created };
}
