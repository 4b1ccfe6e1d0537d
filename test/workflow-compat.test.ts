/**
 * Sessions outlive deployments: a workflow started by an earlier release must replay with this
 * code. Each file in test/fixtures/histories/ is a history recorded by an earlier release (named
 * for the change it guards), as binary protobuf (`History.encode` of `handle.fetchHistory()`),
 * and must replay without a determinism error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { payloadCodecFromConfig, temporalDataConverter } from '../lib/crypto/payload-codec';
import { testConfig, workflowBundle } from './helpers/stack';

const dir = path.join(__dirname, 'fixtures', 'histories');
const files = readdirSync(dir).filter((f) => f.endsWith('.binpb'));

describe('histories recorded by earlier releases', () => {
  it('has some to replay', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('replays %s with the current workflow code', async (file) => {
    // Binary rather than JSON: the JSON helper in @temporalio/common carries a second copy of
    // protobufjs, whose types the SDK's proto objects do not recognise.
    const history = temporal.api.history.v1.History.decode(readFileSync(path.join(dir, file)));
    const workflowId = `replay-${path.basename(file, '.binpb')}`;
    // With the payload codec, as workers replay: histories from before payload encryption
    // hold plain payloads, which it must pass through untouched.
    await expect(
      Worker.runReplayHistory(
        {
          workflowBundle: workflowBundle(),
          dataConverter: temporalDataConverter(payloadCodecFromConfig(testConfig())),
        },
        history,
        workflowId,
      ),
    ).resolves.toBeUndefined();
  });
});
