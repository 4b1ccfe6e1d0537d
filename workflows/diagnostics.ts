import {
  allHandlersFinished,
  condition,
  defineSignal,
  defineUpdate,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { DiagnosticActivities, ProbeResult } from '../activities/diagnostics';

export interface DiagnosticsInput {
  token: string;
}

export interface DiagnosticsResult extends ProbeResult {
  workflow_id: string;
}

const { probeDependencies } = proxyActivities<DiagnosticActivities>({
  startToCloseTimeout: '10 seconds',
  retry: { maximumAttempts: 3, initialInterval: '200 ms', nonRetryableErrorTypes: [] },
});

/** End-to-end probe: proves a worker polls the session queue and its activities reach the stores. */
export async function diagnosticsWorkflow(input: DiagnosticsInput): Promise<DiagnosticsResult> {
  const probe = await probeDependencies(input.token);
  return { ...probe, workflow_id: workflowInfo().workflowId };
}

/** The floor for turnaround benchmarks: an Update that does nothing, on the same server and queue. */
export const noopUpdate = defineUpdate<number, [number]>('noop');
export const finishSignal = defineSignal('finish');

export async function floorProbeWorkflow(): Promise<void> {
  let finished = false;
  setHandler(noopUpdate, (n) => n);
  setHandler(finishSignal, () => {
    finished = true;
  });
  await condition(() => finished && allHandlersFinished());
}
