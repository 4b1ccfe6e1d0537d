import { createDiagnosticActivities, type DiagnosticsDeps } from './diagnostics';
import { createSafetyActivities, type SafetyDeps } from './safety';
import { createSessionStoreActivities } from './session-store';

export type SessionPoolDeps = DiagnosticsDeps & SafetyDeps;

/** Activities of the session pool (workflows' bookkeeping), built from injected dependencies. */
export function createSessionActivities(deps: SessionPoolDeps) {
  return {
    ...createDiagnosticActivities(deps),
    ...createSessionStoreActivities(deps),
    ...createSafetyActivities(deps),
  };
}

export type SessionActivities = ReturnType<typeof createSessionActivities>;

export { createPersonaActivities, type PersonaActivities } from './persona';
export { createAnalysisActivities, type AnalysisActivities } from './analysis';
