/**
 * API keys' signing secrets. Unlike the key itself, a signing secret cannot be stored as a hash:
 * checking an HMAC needs the secret. So it is sealed (AES-256-GCM, `credential` keys of the
 * keyring) with the key's id as associated data, which stops a sealed secret copied onto another
 * key document from opening there.
 */
import { existsSync } from 'node:fs';
import type { Config } from '../config';
import { defaultKeyFile, Keyring } from '../crypto/keyring';
import { seal, unseal } from '../crypto/sealed';
import { SECRET_AAD } from '../crypto/fields';

/** Distinct from `sk_ss_`, so a secret pasted as a bearer token is never taken for a key. */
export const SIGNING_SECRET_PREFIX = 'ss_sig_';
/** Random characters after the prefix, [A-Za-z0-9]: 238 bits. */
export const SIGNING_SECRET_CHARS = 40;

const aad = SECRET_AAD.signingSecret;

export function sealSigningSecret(ring: Keyring, keyId: string, secret: string): string {
  return seal(ring, 'credential', secret, aad(keyId));
}

export function unsealSigningSecret(ring: Keyring, keyId: string, sealed: string): string {
  return unseal<string>(ring, 'credential', sealed, aad(keyId));
}

/**
 * The keyring when encryption keys are configured at all, else undefined: without keys, new API
 * keys simply get no signing secret. Keys that are configured but broken still throw, so a
 * mistake in them is reported rather than silently turning signing off.
 */
export function keyringIfConfigured(config: Config): Keyring | undefined {
  const enc = config.security.encryption;
  const anyKeys =
    enc.key_file !== undefined ||
    Object.keys(enc.keys).length > 0 ||
    existsSync(defaultKeyFile(config));
  return anyKeys ? Keyring.fromConfig(config) : undefined;
}
