/** Recurring session series: a Temporal Schedule that creates one ordinary session per occurrence. */
import { z } from 'zod';
import { isoDateTime, isoDateTimeInput, metadataSchema } from './common';

const DAYS = [
  'SUNDAY',
  'MONDAY',
  'TUESDAY',
  'WEDNESDAY',
  'THURSDAY',
  'FRIDAY',
  'SATURDAY',
] as const;

const calendarEntry = z.object({
  day_of_week: z
    .string()
    .transform((d) => d.toUpperCase())
    .pipe(z.enum(DAYS))
    .optional(),
  day_of_month: z.number().int().min(1).max(31).optional(),
  hour: z.number().int().min(0).max(23),
  minute: z.number().int().min(0).max(59).default(0),
});

/** Exactly one rule: a cron expression, calendar entries, or a fixed interval. */
export const recurrenceSchema = z
  .object({
    cron: z.string().min(9).max(120).optional(),
    calendar: z.array(calendarEntry).min(1).max(20).optional(),
    /** Fixed spacing; short intervals suit training runs and demos. */
    interval_seconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 24 * 3600)
      .optional(),
    timezone: z.string().min(1).default('UTC'),
  })
  .refine(
    (r) => [r.cron, r.calendar, r.interval_seconds].filter((v) => v !== undefined).length === 1,
    {
      message: 'give exactly one of cron, calendar or interval_seconds',
    },
  )
  .refine((r) => isValidTimezone(r.timezone), {
    message: 'unknown IANA timezone',
    path: ['timezone'],
  });

export const createSeriesRequestSchema = z
  .object({
    client_id: z.string().min(1).max(64),
    persona_id: z.string().min(1).max(64),
    goals: z.array(z.string().min(1).max(500)).max(20).default([]),
    duration_minutes: z.number().int().min(1).max(480).default(45),
    recurrence: recurrenceSchema,
    start_date: isoDateTimeInput.optional(),
    end_date: isoDateTimeInput.optional(),
    metadata: metadataSchema.default({}),
  })
  .refine((s) => !s.start_date || !s.end_date || s.start_date < s.end_date, {
    message: 'end_date must be after start_date',
    path: ['end_date'],
  });
export type CreateSeriesRequest = z.infer<typeof createSeriesRequestSchema>;

export const seriesSchema = z.object({
  series_id: z.string(),
  client_id: z.string(),
  persona_id: z.string(),
  goals: z.array(z.string()),
  duration_minutes: z.number().int(),
  recurrence: z.object({
    cron: z.string().optional(),
    calendar: z.array(calendarEntry).optional(),
    interval_seconds: z.number().int().optional(),
    timezone: z.string(),
  }),
  start_date: isoDateTime.optional(),
  end_date: isoDateTime.optional(),
  metadata: metadataSchema,
  status: z.enum(['active', 'paused']),
  created_at: isoDateTime,
  created_by: z.string(),
  owner_id: z.string().optional(),
  next_occurrences: z.array(isoDateTime).optional(),
});
export type Series = z.infer<typeof seriesSchema>;

function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
