/**
 * The vocabulary of the risk screen, shared by the screen itself (personas/safety), the session
 * workflow (which ranks a batch of messages), the config (crisis resources per risk) and the
 * `alert.raised` event. Plain constants, no zod: the workflow bundle imports it.
 */

export const RISK_CATEGORIES = ['suicide', 'self_harm', 'harm_to_others', 'abuse'] as const;
export type RiskCategory = (typeof RISK_CATEGORIES)[number];

export const ALERT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** `none` plus the alert severities, in rising order. */
export const RISK_LEVELS = ['none', ...ALERT_SEVERITIES] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

export const atLeast = (level: RiskLevel, floor: RiskLevel): boolean =>
  RISK_LEVELS.indexOf(level) >= RISK_LEVELS.indexOf(floor);

export const higher = (a: RiskLevel, b: RiskLevel): RiskLevel => (atLeast(a, b) ? a : b);
