/**
 * The floors every figure of `npm run bench` is shown beside, measured once per run on the same
 * stack: what Temporal, NATS, Koa and the database allow before any of our code runs.
 */
import { randomBytes } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { latency, log, type BenchApp, type Latency } from './harness';
import { measureBareFloors, type LoadShape, type Measurement } from './read-path';
import { measureUpdateFloor } from './turnaround';

export interface Floors {
  /** A no-op Temporal Update round trip on the sessions task queue (ms). */
  update: Latency;
  /** A core NATS publish → subscribe round trip on one connection (ms). */
  nats: Latency;
  /** A bare Koa route returning a small JSON body, under load. */
  koa: Measurement;
  /** A bare Koa route doing one sessions.findOne({ _id }), under load. */
  mongo: Measurement;
}

export interface FloorSettings {
  updateSamples: number;
  natsSamples: number;
  load: LoadShape;
  deadlineAt: number;
}

export async function measureFloors(app: BenchApp, s: FloorSettings): Promise<Floors> {
  log('floors: no-op Temporal Update');
  const update = await measureUpdateFloor(app, {
    samples: s.updateSamples,
    deadlineAt: s.deadlineAt,
  });
  log('floors: NATS publish → subscribe');
  const nats = await measureNatsFloor(app.bench.stack.services.natsUrl, s.natsSamples);
  log('floors: bare Koa route, bare MongoDB findOne');
  const { koa, mongo } = await measureBareFloors(app, s.load);
  return { update, nats, koa, mongo };
}

/**
 * One message at a time: publish, then wait for this connection's own subscription to hand it
 * back. The subscription is flushed first so the server knows it before the first publish.
 */
export async function measureNatsFloor(natsUrl: string, samples: number): Promise<Latency> {
  const nc = await connect({ servers: natsUrl });
  try {
    const subject = `bench.floor.${randomBytes(4).toString('hex')}`;
    const messages = nc.subscribe(subject)[Symbol.asyncIterator]();
    await nc.flush();
    const payload = new Uint8Array(256);
    const roundTrip = async () => {
      const t = performance.now();
      nc.publish(subject, payload);
      await messages.next();
      return performance.now() - t;
    };
    for (let i = 0; i < 50; i++) await roundTrip(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < samples; i++) times.push(await roundTrip());
    return latency(times);
  } finally {
    await nc.close();
  }
}
