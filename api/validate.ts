import { z } from 'zod';
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
  rejectUnknownKeys(schema, value, where);
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

/**
 * A field the schema does not know is refused rather than dropped: a misspelt filter would
 * otherwise silently return everything, and `search[$gt]` or a stray `$set` is someone probing.
 */
function rejectUnknownKeys(schema: z.ZodType, value: unknown, where: string): void {
  if (!(schema instanceof z.ZodObject) || !value || typeof value !== 'object') return;
  const known = new Set(Object.keys(schema.shape));
  const unknown = Object.keys(value).filter((k) => !known.has(k));
  if (!unknown.length) return;
  const errors = unknown.map((field) => ({
    field,
    reason: where === 'query' ? 'unknown query parameter' : 'unknown field',
  }));
  throw new ValidationError(`Invalid ${where}: ${errors[0]!.field}: ${errors[0]!.reason}`, {
    ...errors[0]!,
    errors,
  });
}

/** A route without query parameters refuses any. */
export const NO_QUERY = z.object({});
