/** Where a webhook's signing secret is bound when sealed (see lib/crypto/fields.ts). */
export const webhookSecretAad = (webhookId: string) => `webhooks:${webhookId}:secret`;
