import { z } from 'zod';
import { isoDateTime, metadataSchema } from './common';

const name = z.string().trim().min(1).max(100);

export const createClientRequestSchema = z.object({
  first_name: name,
  last_name: name,
  email: z.email().max(254).optional(),
  phone: z
    .string()
    .trim()
    .regex(/^\+?[0-9 ()\-.]{5,32}$/, 'must be a phone number')
    .optional(),
  date_of_birth: z.iso.date().optional(),
  metadata: metadataSchema.default({}),
});
export type CreateClientRequest = z.infer<typeof createClientRequestSchema>;

/** An update names only what changes; `null` clears an optional field. */
export const updateClientRequestSchema = z
  .object({
    first_name: name,
    last_name: name,
    email: z.email().max(254).nullable(),
    phone: z
      .string()
      .trim()
      .regex(/^\+?[0-9 ()\-.]{5,32}$/, 'must be a phone number')
      .nullable(),
    date_of_birth: z.iso.date().nullable(),
    metadata: metadataSchema,
  })
  .partial()
  .refine((u) => Object.keys(u).length > 0, { message: 'name at least one field to change' });
export type UpdateClientRequest = z.infer<typeof updateClientRequestSchema>;

export const clientSchema = z.object({
  client_id: z.string(),
  first_name: z.string(),
  last_name: z.string(),
  email: z.string().optional(),
  phone: z.string().optional(),
  date_of_birth: z.string().optional(),
  created_at: isoDateTime,
  created_by: z.string(),
  owner_id: z.string().optional(),
  updated_at: isoDateTime,
  metadata: metadataSchema,
});
export type Client = z.infer<typeof clientSchema>;
