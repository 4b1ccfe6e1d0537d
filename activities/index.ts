import { createDiagnosticActivities, type DiagnosticsDeps } from './diagnostics';
import { createSafetyActivities, type SafetyDeps, type ScreenResult } from './safety';
import type { Message } from '../lib/schemas/session';
import { createSessionStoreActivities, type SessionStoreDeps } from './session-store';

export type SessionPoolDeps = DiagnosticsDeps & SafetyDeps & SessionStoreDeps;

/** Activities of the session pool (workflows' bookkeeping), built from injected dependencies. */
export function createSessionActivities(deps: SessionPoolDeps) {
  const store = createSessionStoreActivities(deps);
  const safety = createSafetyActivities(deps);
  return {
    ...createDiagnosticActivities(deps),
    ...store,
    /**
     * A client message: stored and announced, then screened for risk — one local activity
     * rather than two, as this is on every client message's path. The alert (if any) follows
     * `message.created` on the stream.
     */
    async recordClientMessage(
      input: Parameters<typeof store.recordMessage>[0],
    ): Promise<{ message: Message; risk: ScreenResult }> {
      const message = await store.recordMessage(input);
      const risk = await safety.screenMessage({
        session: input.session,
        message: { id: message.id, content: message.content },
      });
      return { message, risk };
    },
  };
}

export type SessionActivities = ReturnType<typeof createSessionActivities>;

export { createPersonaActivities, type PersonaActivities } from './persona';
export { createAnalysisActivities, type AnalysisActivities } from './analysis';
