import { createDiagnosticActivities, type DiagnosticsDeps } from './diagnostics';

export type ActivityDeps = DiagnosticsDeps;

/** Activities of the session pool, built from injected dependencies. */
export function createSessionActivities(deps: ActivityDeps) {
  return {
    ...createDiagnosticActivities(deps),
  };
}

export type SessionActivities = ReturnType<typeof createSessionActivities>;
