import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes operators filter sessions by in the Temporal Web UI, e.g.
 * `SessionStatus = "active" AND PersonaId = "dr_morgan_hayes"`. Registered by the dev stack
 * (scripts/stack/services.ts) and by compose's admin-tools job.
 */
export const SESSION_SEARCH_ATTRIBUTES = {
  clientId: defineSearchAttributeKey('ClientId', SearchAttributeType.KEYWORD),
  personaId: defineSearchAttributeKey('PersonaId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('SessionStatus', SearchAttributeType.KEYWORD),
  scheduledAt: defineSearchAttributeKey('ScheduledAt', SearchAttributeType.DATETIME),
} as const;
