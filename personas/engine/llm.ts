/**
 * The engine the persona pool runs: each reply goes to the persona's configured chat provider
 * and streams as it is written; when the provider fails (HTTP error, timeout, a broken or empty
 * stream) the local engine answers instead, and the reply says so. Analysis and progress reports
 * stay with the local engine: they must be reproducible, and a summary nobody waits on live gains
 * nothing from streaming.
 */
import type { Logger } from '../../lib/log';
import type { PersonaMetrics } from '../../lib/metrics';
import { buildChat, ProviderError, type ProviderRoute } from '../providers';
import type { PersonaEngine, PersonaReply } from './types';

export interface LlmEngineDeps {
  /** Answers for personas without a provider, and whenever a provider fails. */
  local: PersonaEngine;
  route: ProviderRoute;
  /** The name the worker reports (the globally configured provider). */
  name: string;
  metrics?: PersonaMetrics;
  log?: Logger;
}

export function createLlmEngine({
  local,
  route,
  name,
  metrics,
  log,
}: LlmEngineDeps): PersonaEngine {
  return {
    name,
    analyze: (input) => local.analyze(input),
    ...(local.progress ? { progress: local.progress.bind(local) } : {}),

    async reply(ctx, opts = {}): Promise<PersonaReply> {
      const provider = route(ctx.persona.persona_id);
      const timer = metrics?.replySeconds.startTimer();
      if (!provider) {
        const reply = await local.reply(ctx, opts);
        timer?.({ engine: 'local', provider: 'local' });
        return { ...reply, metadata: { ...reply.metadata, engine: 'local' } };
      }

      const about = {
        session_id: ctx.session_id,
        persona_id: ctx.persona.persona_id,
        provider: provider.name,
        model: provider.model,
      };
      try {
        const content = await provider.complete(buildChat(ctx), {
          onDelta: (text) => opts.onDelta?.(text),
          signal: opts.signal,
          onFailedAttempt: (err, attempt, willRetry) => {
            metrics?.providerFailures.inc({ provider: provider.name, reason: err.reason });
            if (willRetry)
              log?.info(
                { ...about, reason: err.reason, attempt },
                `provider failed, retrying: ${err.message}`,
              );
          },
        });
        timer?.({ engine: provider.name, provider: provider.name });
        return {
          content: content.trim(),
          metadata: { engine: provider.name, model: provider.model },
        };
      } catch (err) {
        // A cancelled activity is not the provider's failure: nobody waits for a fallback.
        if (opts.signal?.aborted) throw err;
        const reason = err instanceof ProviderError ? err.reason : 'internal_error';
        if (!(err instanceof ProviderError)) {
          // A bug of ours rather than the provider's; counted like a failure so it is seen.
          metrics?.providerFailures.inc({ provider: provider.name, reason });
        }
        metrics?.fallbacks.inc({ provider: provider.name });
        log?.warn(
          { ...about, reason, ...(err instanceof ProviderError ? {} : { err }) },
          `provider failed, the local engine answers: ${(err as Error).message}`,
        );
        const reply = await local.reply(ctx);
        timer?.({ engine: 'local', provider: provider.name });
        return {
          content: reply.content,
          metadata: {
            ...reply.metadata,
            engine: 'local',
            fallback_from: provider.name,
            fallback_model: provider.model,
            fallback_reason: reason,
          },
          fallback: { provider: provider.name, model: provider.model, reason },
        };
      }
    },
  };
}
