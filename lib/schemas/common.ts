import { z } from 'zod';

/** ISO 8601 UTC timestamps with `Z`, as the spec writes them. */
export const isoDateTime = z.iso.datetime({ offset: false });

/** Request times: any ISO 8601 offset is accepted and normalised to UTC with `Z`. */
export const isoDateTimeInput = z.iso.datetime({ offset: true }).transform((v) => toIsoUtc(v));

/**
 * A bound compared with stored timestamps (`created_at`, a message's `timestamp`). MongoDB
 * compares those as strings, and they are stored as `toISOString()` writes them, always with
 * milliseconds; a bound without them would sort after every time in its own second
 * (`…:00Z` > `…:00.500Z`), so it takes exactly that form.
 */
export const timeBoundInput = z.iso
  .datetime({ offset: true })
  .transform((v) => new Date(v).toISOString());

/** An Idempotency-Key (REST header) or `idempotency_key` (WebSocket `send_message`). */
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{8,128}$/;

export const metadataSchema = z.record(z.string(), z.unknown());

export const paginationSchema = z.object({
  total: z.number().int(),
  page: z.number().int(),
  page_size: z.number().int(),
  pages: z.number().int(),
});
export type Pagination = z.infer<typeof paginationSchema>;

/** ISO 8601 in UTC with `Z`, without a `.000` when the time has no milliseconds (as callers write it). */
export function toIsoUtc(value: string | Date): string {
  return new Date(value).toISOString().replace('.000Z', 'Z');
}
