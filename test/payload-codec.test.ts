/**
 * The Temporal payload codec on its own: what an encrypted payload looks like, that it opens
 * only with its key, across a key rotation and with encryption switched off, and that payloads
 * from before encryption pass through.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { ConfigError, loadConfig } from '../lib/config';
import { Keyring } from '../lib/crypto/keyring';
import {
  isEncryptedPayload,
  PayloadCodecError,
  PayloadEncryptionCodec,
  payloadCodecFromConfig,
} from '../lib/crypto/payload-codec';

const ring = (active: string, ...ids: string[]) =>
  Keyring.of(Object.fromEntries(ids.map((id) => [id, KEYS[id]!])), active, randomBytes(32));
const KEYS: Record<string, Buffer> = { k1: randomBytes(32), k2: randomBytes(32) };
const text = (p: Payload) => Buffer.from(p.data ?? new Uint8Array()).toString('utf8');
const meta = (p: Payload, key: string) => Buffer.from(p.metadata?.[key] ?? []).toString('utf8');

const message = { content: 'I keep dreaming about the lighthouse keeper', sender_type: 'client' };

describe('the Temporal payload codec', () => {
  it('turns each payload into a binary/encrypted one naming its key, hiding data and metadata', async () => {
    const codec = new PayloadEncryptionCodec({ ring: ring('k1', 'k1'), encrypt: true });
    const plain = defaultPayloadConverter.toPayload(message);
    const [sealed] = await codec.encode([plain]);
    expect(isEncryptedPayload(sealed!)).toBe(true);
    expect(Object.keys(sealed!.metadata!).sort()).toEqual(['encoding', 'encryption-key-id']);
    expect(meta(sealed!, 'encoding')).toBe('binary/encrypted');
    expect(meta(sealed!, 'encryption-key-id')).toBe('k1');
    // IV, ciphertext of the whole payload (its json/plain metadata too), tag.
    expect(text(sealed!)).not.toContain('lighthouse');
    expect(Buffer.from(sealed!.data!).includes(Buffer.from('json/plain'))).toBe(false);
    expect(sealed!.data!.length).toBeGreaterThan(12 + 16);

    const [opened] = await codec.decode([sealed!]);
    expect(meta(opened!, 'encoding')).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(opened!)).toEqual(message);
  });

  it('uses a fresh IV for every payload', async () => {
    const codec = new PayloadEncryptionCodec({ ring: ring('k1', 'k1'), encrypt: true });
    const plain = defaultPayloadConverter.toPayload(message);
    const [a, b] = await codec.encode([plain, plain]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('leaves payloads without the encrypted encoding untouched when decoding (histories from before)', async () => {
    const codec = new PayloadEncryptionCodec({ ring: ring('k1', 'k1'), encrypt: true });
    const plain = defaultPayloadConverter.toPayload(message);
    const binary = defaultPayloadConverter.toPayload(new Uint8Array([1, 2, 3]));
    const [a, b] = await codec.decode([plain, binary]);
    expect(a).toBe(plain);
    expect(b).toBe(binary);
  });

  it('reads payloads written under an older key version after a rotation, and writes under the new one', async () => {
    const before = new PayloadEncryptionCodec({ ring: ring('k1', 'k1'), encrypt: true });
    const after = new PayloadEncryptionCodec({ ring: ring('k2', 'k1', 'k2'), encrypt: true });
    const [old] = await before.encode([defaultPayloadConverter.toPayload(message)]);
    expect(defaultPayloadConverter.fromPayload((await after.decode([old!]))[0]!)).toEqual(message);
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload(message)]);
    expect(meta(fresh!, 'encryption-key-id')).toBe('k2');
  });

  it('refuses altered data, an unknown key and a payload of another key, naming no content', async () => {
    const codec = new PayloadEncryptionCodec({ ring: ring('k1', 'k1'), encrypt: true });
    const [sealed] = await codec.encode([defaultPayloadConverter.toPayload(message)]);
    const altered = Buffer.from(sealed!.data!);
    altered[20] = altered[20]! ^ 0xff;
    await expect(codec.decode([{ ...sealed!, data: altered }])).rejects.toThrow(
      new PayloadCodecError("payload does not authenticate under key 'k1'"),
    );

    const other = new PayloadEncryptionCodec({ ring: ring('k2', 'k2'), encrypt: true });
    await expect(other.decode([sealed!])).rejects.toThrow(/key 'k1', which is not in the ring/);

    const relabelled = {
      ...sealed!,
      metadata: { ...sealed!.metadata, 'encryption-key-id': Buffer.from('k2') },
    };
    const both = new PayloadEncryptionCodec({ ring: ring('k2', 'k1', 'k2'), encrypt: true });
    await expect(both.decode([relabelled])).rejects.toThrow(/does not authenticate under key 'k2'/);
  });

  it('with encryption off, sends payloads as they are but still reads encrypted ones', async () => {
    const on = new PayloadEncryptionCodec({ ring: ring('k1', 'k1'), encrypt: true });
    const off = new PayloadEncryptionCodec({ ring: ring('k1', 'k1'), encrypt: false });
    const plain = defaultPayloadConverter.toPayload(message);
    expect(await off.encode([plain])).toEqual([plain]);
    const [sealed] = await on.encode([plain]);
    expect(defaultPayloadConverter.fromPayload((await off.decode([sealed!]))[0]!)).toEqual(message);
  });

  describe('from the configuration', () => {
    // A data folder of its own, so no key file of a dev stack is picked up.
    const noKeys = (enabled: boolean) =>
      loadConfig({
        argv: [],
        env: {},
        overrides: {
          'dev_stack.data_dir': mkdtempSync(path.join(tmpdir(), 'codec-')),
          'security.encryption.enabled': enabled,
        },
      });

    it('refuses to start without keys while encryption is on', () => {
      expect(() => payloadCodecFromConfig(noKeys(true))).toThrow(ConfigError);
      expect(() => payloadCodecFromConfig(noKeys(true))).toThrow(/security\.encryption: no keys/);
    });

    it('without keys and encryption off, passes plain payloads and explains an encrypted one', async () => {
      const codec = payloadCodecFromConfig(noKeys(false));
      const plain = defaultPayloadConverter.toPayload(message);
      expect(await codec.encode([plain])).toEqual([plain]);
      const [sealed] = await new PayloadEncryptionCodec({
        ring: ring('k1', 'k1'),
        encrypt: true,
      }).encode([plain]);
      await expect(codec.decode([sealed!])).rejects.toThrow(
        /encrypted under key 'k1', but no encryption keys are configured/,
      );
    });
  });
});
