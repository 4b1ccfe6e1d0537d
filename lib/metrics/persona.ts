/**
 * Metrics of the persona pool: how long replies take, how often providers fail and the local
 * engine stands in, and how long a client waits for the answer to a message.
 */
import { Counter, Histogram, Registry } from 'prom-client';

export interface PersonaMetrics {
  registry: Registry;
  /** engine: who wrote the reply (`local` after a fallback); provider: who was configured to. */
  replySeconds: Histogram<'engine' | 'provider'>;
  /** Every failed provider request, retried or not. */
  providerFailures: Counter<'provider' | 'reason'>;
  /** Replies the local engine wrote because the provider failed. */
  fallbacks: Counter<'provider'>;
  /** From the client's message being accepted to the persona's answer being stored. */
  turnaroundSeconds: Histogram<'engine'>;
}

/** A registry per worker (not prom-client's global one), so tests running several read their own. */
export function createPersonaMetrics(registry = new Registry()): PersonaMetrics {
  return {
    registry,
    replySeconds: new Histogram({
      name: 'smartsteps_persona_reply_seconds',
      help: 'Time to write one persona reply, by the engine that wrote it and the provider configured for the persona.',
      labelNames: ['engine', 'provider'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      registers: [registry],
    }),
    providerFailures: new Counter({
      name: 'smartsteps_persona_provider_failures_total',
      help: 'Failed requests to an LLM provider, retried or not, by failure reason.',
      labelNames: ['provider', 'reason'],
      registers: [registry],
    }),
    fallbacks: new Counter({
      name: 'smartsteps_persona_fallbacks_total',
      help: 'Persona replies written by the local engine because the configured provider failed.',
      labelNames: ['provider'],
      registers: [registry],
    }),
    turnaroundSeconds: new Histogram({
      name: 'smartsteps_message_turnaround_seconds',
      help: "From a client message being accepted to the persona's reply to it being stored, by the engine that wrote the reply.",
      labelNames: ['engine'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120],
      registers: [registry],
    }),
  };
}
