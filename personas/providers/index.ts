/**
 * Which chat provider writes each persona's replies, from the `llm` config section: a persona's
 * own entry in `llm.personas`, else `llm.provider`. `local` means no provider (the local engine).
 * Everything is resolved when the worker starts, so a missing key fails then, not mid-session.
 */
import { ConfigError, llmApiKey, type Config, type LlmProviderName } from '../../lib/config';
import { anthropicProtocol } from './anthropic';
import { createChatProvider, type ChatProvider, type Limits } from './client';
import { openAiProtocol } from './openai';
import type { ChatProtocol, ProviderName } from './types';

export { buildChat } from './prompt';
export { ProviderError, type FailureReason } from './errors';
export type { ChatProvider, StreamOptions } from './client';

const PROTOCOLS: Record<ProviderName, ChatProtocol> = {
  openai: openAiProtocol,
  anthropic: anthropicProtocol,
};

/** The provider for a persona id, or undefined when the local engine answers for it. */
export type ProviderRoute = (personaId: string) => ChatProvider | undefined;

export function providerRoute(config: Config, env?: NodeJS.ProcessEnv): ProviderRoute {
  const { llm } = config;
  const limits: Limits = {
    timeoutMs: llm.timeout_seconds * 1000,
    firstTokenTimeoutMs: llm.first_token_timeout_seconds * 1000,
    maxRetries: llm.max_retries,
    retryDelayMs: llm.retry_delay_seconds * 1000,
  };
  const sampling = { temperature: llm.temperature, max_tokens: llm.max_tokens };
  const built = new Map<string, ChatProvider>();
  const provider = (name: LlmProviderName, model?: string): ChatProvider | undefined => {
    if (name === 'local') return undefined;
    const settings = llm[name];
    const key = `${name}|${model ?? settings.model}`;
    let found = built.get(key);
    if (!found) {
      const api_key = llmApiKey(config, name, env);
      if (name === 'anthropic' && !api_key) {
        throw new ConfigError(
          'invalid configuration: llm.anthropic.api_key: required when a persona uses Anthropic (set SMARTSTEPS_LLM__ANTHROPIC__API_KEY, ANTHROPIC_API_KEY or llm.anthropic.api_key_file)',
        );
      }
      found = createChatProvider(
        PROTOCOLS[name],
        { base_url: settings.base_url, model: model ?? settings.model, api_key },
        sampling,
        limits,
      );
      built.set(key, found);
    }
    return found;
  };

  const fallback = provider(llm.provider);
  const perPersona = new Map(
    Object.entries(llm.personas).map(([id, choice]) => [
      id,
      provider(choice.provider, choice.model),
    ]),
  );
  return (personaId) => (perPersona.has(personaId) ? perPersona.get(personaId) : fallback);
}
