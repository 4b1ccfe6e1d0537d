/**
 * The risk screen, run by the session workflow (as a local activity on the session pool) on every
 * client message before the persona answers it. At the configured level it raises `alert.raised`
 * for the facilitator, from here, so the alert is on the stream before the persona's reply.
 */
import { createHash } from 'node:crypto';
import type { Bus } from '../lib/bus';
import type { Config } from '../lib/config';
import { eventId, publishEvent } from '../lib/events';
import { atLeast, type RiskCategory, type RiskLevel } from '../lib/schemas/safety';
import { assessRisk } from '../personas/safety/risk';
import type { SessionRef } from './transcript';

export interface SafetyDeps {
  bus: Bus;
  safety: Pick<Config['safety'], 'alert_level' | 'crisis_response_level'>;
}

export interface ScreenRequest {
  session: SessionRef;
  message: { id: string; content: string };
}

export interface ScreenResult {
  level: RiskLevel;
  categories: RiskCategory[];
  /** The persona must answer with the crisis reply rather than in role. */
  crisis: boolean;
  /** Set when an alert was raised. */
  alert_id?: string;
}

const SAID: Record<RiskCategory, string> = {
  suicide: 'suicide',
  self_harm: 'self-harm',
  harm_to_others: 'harm to others',
  abuse: 'abuse',
};

export function createSafetyActivities({ bus, safety }: SafetyDeps) {
  return {
    async screenMessage({ session, message }: ScreenRequest): Promise<ScreenResult> {
      const risk = assessRisk(message.content);
      const elevated = (floor: RiskLevel) => risk.level !== 'none' && atLeast(risk.level, floor);
      const result: ScreenResult = {
        level: risk.level,
        categories: risk.categories,
        crisis: elevated(safety.crisis_response_level),
      };
      if (risk.level === 'none' || !elevated(safety.alert_level)) return result;

      // One alert per message, whatever the retries: its id comes from the message's.
      const alertId =
        'al_' +
        createHash('sha256')
          .update(`${session.session_id}|${message.id}`)
          .digest('hex')
          .slice(0, 16);
      // A retried publish is dropped by JetStream on the event id, whatever its time says.
      const raisedAt = new Date().toISOString();
      const worries = risk.categories.length
        ? risk.categories.map((c) => SAID[c]).join(', ')
        : 'distress';
      await publishEvent(bus, 'session', session.session_id, {
        event_id: eventId(session.session_id, 'alert.raised', message.id),
        event: 'alert.raised',
        timestamp: raisedAt,
        data: {
          ...session,
          alert: {
            alert_id: alertId,
            type: 'risk_language',
            severity: risk.level,
            categories: risk.categories,
            message: `A client message suggests a risk of ${worries} (${risk.level}); please review the session.`,
            message_id: message.id,
            raised_at: raisedAt,
          },
        },
      });
      return { ...result, alert_id: alertId };
    },
  };
}

export type SafetyActivities = ReturnType<typeof createSafetyActivities>;
