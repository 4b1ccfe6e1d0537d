/**
 * Each genuine request signature is accepted once. Every API instance must agree on "once", so
 * the signatures seen are kept in a NATS KV bucket and the first use is a KV `create`, which the
 * server refuses when the entry already exists: of two instances receiving the same request at
 * the same moment, exactly one wins. Entries are kept for twice the timestamp window (a
 * timestamp is accepted from `window` before to `window` after the server's clock, so a signature
 * stays presentable for that long) and then expire by themselves.
 */
import { createHash } from 'node:crypto';
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { nanos, type NatsConnection } from '@nats-io/transport-node';

export const REPLAY_BUCKET = 'ss_signature_replays';
/** The KV library names its stream so. */
const REPLAY_STREAM = `KV_${REPLAY_BUCKET}`;
/** Clock steps between instances are absorbed by keeping entries a little longer than needed. */
const RETENTION_MARGIN_SECONDS = 60;

export class SignatureReplays {
  private kv: KV | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly windowSeconds: number,
  ) {}

  private get retentionMs(): number {
    return (2 * this.windowSeconds + RETENTION_MARGIN_SECONDS) * 1000;
  }

  async start(): Promise<void> {
    this.kv = await new Kvm(this.nc).create(REPLAY_BUCKET, { history: 1, ttl: this.retentionMs });
    await this.keepLongEnough();
  }

  /**
   * True the first time this key presents this signature; false when it was presented before
   * within the retention. Throws when the store cannot be reached (the caller refuses then:
   * without the store a replay cannot be ruled out).
   */
  async firstUse(keyId: string, signatureHex: string): Promise<boolean> {
    if (!this.kv) throw new Error('signature replay store not started');
    try {
      await this.kv.create(entryKey(keyId, signatureHex), JSON.stringify({ key_id: keyId }));
      return true;
    } catch (err) {
      if (
        err instanceof JetStreamApiError &&
        err.code === JetStreamApiCodes.StreamWrongLastSequence
      )
        return false;
      throw err;
    }
  }

  /**
   * The bucket is made once with the first instance's window; an instance configured with a
   * longer window lengthens it, or signatures could be replayed after their entry expired. It
   * is never shortened, because another instance may still need the longer retention.
   */
  private async keepLongEnough(): Promise<void> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(REPLAY_STREAM);
    if (info.config.max_age >= nanos(this.retentionMs)) return;
    await jsm.streams.update(REPLAY_STREAM, { max_age: nanos(this.retentionMs) });
  }
}

/** KV keys allow a limited alphabet, and a stored signature is no one's business: a hash. */
function entryKey(keyId: string, signatureHex: string): string {
  return createHash('sha256').update(`${keyId}\n${signatureHex}`).digest('hex');
}
