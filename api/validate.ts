import type { z } from 'zod';
import { ValidationError } from '../lib/errors';

/**
 * Validates a body, query or path value against its zod schema. Failures become the spec's
 * envelope: `details.field` and `details.reason` name the first problem; `details.errors`
 * lists them all.
 */
export function validate<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: 'body' | 'query' | 'path' = 'body',
): z.infer<S> {
  const result = schema.safeParse(value ?? (where === 'body' ? {} : value));
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({
    field: i.path.length ? i.path.join('.') : where,
    reason: i.message,
  }));
  const first = errors[0]!;
  throw new ValidationError(`Invalid ${where}: ${first.field}: ${first.reason}`, {
    ...first,
    errors,
  });
}
