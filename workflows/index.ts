// Every workflow the session pool runs. The worker bundles this file; it must stay deterministic.
export { diagnosticsWorkflow, floorProbeWorkflow } from './diagnostics';
export { sessionWorkflow } from './session';
export { seriesOccurrenceWorkflow } from './series';
export { sessionSummaryWorkflow, progressReportWorkflow } from './analysis';
