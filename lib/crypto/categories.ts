/**
 * What can be encrypted at rest, by data category. Each category has keys of its own (derived
 * from the active key version), so a key leaked from one purpose opens nothing else.
 */
export const CLIENT_SEALABLE = [
  'first_name',
  'last_name',
  'email',
  'phone',
  'date_of_birth',
  'metadata',
] as const;
export type ClientSealable = (typeof CLIENT_SEALABLE)[number];

export const SESSION_SEALABLE = ['notes', 'transcript', 'assessment'] as const;
export type SessionSealable = (typeof SESSION_SEALABLE)[number];

/** Purposes keys are derived for; the name is part of the derivation, so never rename one. */
export const KEY_PURPOSES = [
  'client',
  'notes',
  'transcript',
  'assessment',
  'webhook',
  'credential',
  'temporal-payload',
] as const;
export type KeyPurpose = (typeof KEY_PURPOSES)[number];
