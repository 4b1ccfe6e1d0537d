import { z } from 'zod';

/** `page` (from 1) and `limit` (default 10, at most 100), as every list endpoint takes them. */
export const pageQuery = (defaultLimit = 10) => ({
  page: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(100).default(defaultLimit),
});

/** The spec's `pagination` block. */
export function pagination(total: number, page: number, limit: number) {
  return { total, page, page_size: limit, pages: Math.ceil(total / limit) };
}
