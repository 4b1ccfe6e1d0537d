import { z } from 'zod';

/** ISO 8601 UTC timestamps with `Z`, as the spec writes them. */
export const isoDateTime = z.iso.datetime({ offset: false });

export const metadataSchema = z.record(z.string(), z.unknown());

export const paginationSchema = z.object({
  total: z.number().int(),
  page: z.number().int(),
  page_size: z.number().int(),
  pages: z.number().int(),
});
export type Pagination = z.infer<typeof paginationSchema>;
