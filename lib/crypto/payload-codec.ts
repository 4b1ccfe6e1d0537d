/**
 * Encryption of Temporal payloads. Messages, notes and summaries pass through Temporal as
 * workflow, update and activity arguments and results; without a codec the server's history
 * (and anyone who can read it: the Web UI, `temporal workflow show`, a database backup) holds
 * whole transcripts in the clear.
 *
 * Each payload becomes one `binary/encrypted` payload, following Temporal's samples so tools
 * that know the convention recognise it: metadata `encoding: binary/encrypted` and
 * `encryption-key-id: <key version>`; data = 12-byte IV ‖ AES-256-GCM ciphertext ‖ 16-byte
 * tag, over the whole original Payload protobuf-encoded (so its own metadata, e.g. `json/plain`,
 * is hidden and restored too). The key is the keyring's `temporal-payload` key of that version,
 * so histories stay readable across a key rotation while the old version is in the ring.
 *
 * Codecs run in the client and in the worker's main thread, never in the workflow sandbox, so
 * workflow code and its bundle are unaffected.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  METADATA_ENCODING_KEY,
  type DataConverter,
  type Payload,
  type PayloadCodec,
} from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ConfigError, type Config } from '../config';
import { Keyring } from './keyring';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const PURPOSE = 'temporal-payload';
const IV_BYTES = 12;
const TAG_BYTES = 16;

const ProtoPayload = temporal.api.common.v1.Payload;
const utf8 = (bytes: Uint8Array | null | undefined) =>
  bytes ? Buffer.from(bytes).toString('utf8') : undefined;

export function isEncryptedPayload(payload: Payload): boolean {
  return utf8(payload.metadata?.[METADATA_ENCODING_KEY]) === ENCRYPTED_ENCODING;
}

export class PayloadCodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadCodecError';
  }
}

export interface PayloadEncryptionOptions {
  /** Absent only when encryption is off and no key is configured: plain payloads still pass. */
  ring: Keyring | undefined;
  /** Encrypt what is encoded; when false, payloads go out as they are (decoding still works). */
  encrypt: boolean;
}

export class PayloadEncryptionCodec implements PayloadCodec {
  constructor(private readonly options: PayloadEncryptionOptions) {
    if (options.encrypt && !options.ring) {
      throw new ConfigError('invalid configuration: security.encryption: no keys to encrypt with');
    }
  }

  get encrypting(): boolean {
    return this.options.encrypt;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    if (!this.options.encrypt) return payloads;
    const ring = this.options.ring!;
    const keyId = ring.activeId;
    const key = ring.key(PURPOSE, keyId);
    return payloads.map((payload) => seal(payload, key, keyId));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => (isEncryptedPayload(payload) ? this.open(payload) : payload));
  }

  private open(payload: Payload): Payload {
    const keyId = utf8(payload.metadata?.[KEY_ID_METADATA]);
    if (!keyId) throw new PayloadCodecError(`encrypted payload without '${KEY_ID_METADATA}'`);
    if (!this.options.ring) {
      throw new PayloadCodecError(
        `payload encrypted under key '${keyId}', but no encryption keys are configured`,
      );
    }
    let key: Buffer;
    try {
      key = this.options.ring.key(PURPOSE, keyId);
    } catch {
      throw new PayloadCodecError(
        `payload encrypted under key '${keyId}', which is not in the ring`,
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES)
      throw new PayloadCodecError('encrypted payload too short');
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([
        decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      // Altered data or other key material: say which key, never anything of the content.
      throw new PayloadCodecError(`payload does not authenticate under key '${keyId}'`);
    }
    return ProtoPayload.decode(plain);
  }
}

function seal(payload: Payload, key: Buffer, keyId: string): Payload {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const plain = ProtoPayload.encode(payload).finish();
  const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
  return {
    metadata: {
      [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
      [KEY_ID_METADATA]: Buffer.from(keyId),
    },
    data,
  };
}

/**
 * The codec every Temporal client and worker of this deployment uses, from
 * `security.encryption`. Encryption on without keys is a configuration error (thrown here, so a
 * process fails at start rather than at its first payload); encryption off still loads the keys
 * when there are some, so histories written while it was on stay readable.
 */
export function payloadCodecFromConfig(config: Config, ring?: Keyring): PayloadEncryptionCodec {
  const encrypt = config.security.encryption.enabled;
  if (!ring) {
    try {
      ring = Keyring.fromConfig(config);
    } catch (err) {
      if (encrypt || !(err instanceof ConfigError)) throw err;
    }
  }
  return new PayloadEncryptionCodec({ ring, encrypt });
}

/** The data converter to give every Temporal Client and Worker (`dataConverter:`). */
export function temporalDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec] };
}
