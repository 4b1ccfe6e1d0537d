/**
 * Rates as the spec writes them in YAML (`"1000/minute"`), parsed once at config load into a
 * count per fixed window.
 */
import { z } from 'zod';

export interface Rate {
  limit: number;
  window_ms: number;
  /** As written, for headers and error details. */
  text: string;
}

const UNITS: Record<string, number> = {
  second: 1_000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

const RATE = /^\s*(\d+)\s*\/\s*(\d+\s*)?(second|minute|hour|day)s?\s*$/;

export function parseRate(text: string): Rate | undefined {
  const m = RATE.exec(text);
  if (!m) return undefined;
  const limit = Number(m[1]);
  const every = m[2] ? Number(m[2]) : 1;
  if (limit < 1 || every < 1) return undefined;
  return { limit, window_ms: every * UNITS[m[3]!]!, text: text.trim() };
}

/** A config value: `"<count>/<unit>"` or `"<count>/<n> <unit>s"`, e.g. `"10/minute"`, `"100/15 minutes"`. */
export const rateSchema = z
  .preprocess(
    // A loaded config written back out (e.g. handed to a child process as JSON) holds parsed rates.
    (v) => (v && typeof v === 'object' && 'text' in v ? v.text : v),
    z.string(),
  )
  .transform((text, ctx): Rate => {
    const rate = parseRate(text);
    if (!rate) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected a rate like "1000/minute" (second, minute, hour or day)',
      });
      return z.NEVER;
    }
    return rate;
  });
