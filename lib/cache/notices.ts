/**
 * Cache notices: core-NATS messages saying a read model changed in a way no lifecycle event
 * announces, so every API instance drops what it cached (api/sessions/read-cache.ts). At most
 * once, like all core NATS; readers bound what a lost notice can cost (TTL, clear on reconnect).
 */
import type { NatsConnection } from '@nats-io/transport-node';

export const CACHE_NOTICE_ROOT = 'ss.live.cache';

export const sessionChangedSubject = (sessionId: string) =>
  `${CACHE_NOTICE_ROOT}.session.${sessionId}`;

export function announceSessionChanged(nc: NatsConnection, sessionId: string): void {
  nc.publish(sessionChangedSubject(sessionId));
}
