// Every workflow the session pool runs. The worker bundles this file; it must stay deterministic.
export { diagnosticsWorkflow } from './diagnostics';
