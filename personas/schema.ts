/**
 * The seed's Persona model as one zod schema: it validates the definition files at start-up
 * and gives the static type every other layer uses. Objects are strict so a misspelt key in a
 * definition file fails loudly instead of silently leaving a field unset.
 */
import { z } from 'zod';

const BETWEEN_0_AND_1 = 'must be between 0 and 1';
const unit = z.number().min(0, BETWEEN_0_AND_1).max(1, BETWEEN_0_AND_1);
const text = z.string().trim().min(1, 'must not be empty');

export const personaTypeSchema = z.enum(['therapist', 'analyst', 'counselor']);
export type PersonaType = z.infer<typeof personaTypeSchema>;

export const personaSchema = z.strictObject({
  persona_id: z
    .string()
    .regex(
      /^[a-z][a-z0-9_]{2,63}$/,
      'must be 3-64 characters of a-z, 0-9 and _, starting with a letter',
    ),
  name: text,
  type: personaTypeSchema,
  specialization: text,
  description: text,
  background: text,
  approach: text,
  techniques: z.array(text).min(1, 'must list at least one technique'),
  suitable_for: z.array(text),
  avatar_url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  voice_settings: z.strictObject({ pitch: text, rate: text, style: text }),
  communication_style: z.strictObject({
    formality: unit,
    directiveness: unit,
    warmth: unit,
    complexity: unit,
  }),
  /** Bumped when a definition changes meaningfully; sessions record the version they ran with. */
  version: z.number().int().positive().default(1),
  /** Greetings in the persona's own words; engines fall back to a generic one without them. */
  opening_lines: z.array(text).min(1).optional(),
});

export type Persona = z.infer<typeof personaSchema>;

/** The shape of one entry in `GET /personas`. */
export const personaSummarySchema = personaSchema.pick({
  persona_id: true,
  name: true,
  type: true,
  specialization: true,
  description: true,
});

export type PersonaSummary = z.infer<typeof personaSummarySchema>;

export function toPersonaSummary(persona: Persona): PersonaSummary {
  const { persona_id, name, type, specialization, description } = persona;
  return { persona_id, name, type, specialization, description };
}

/** The spec's persona details: the definition without the runtime's own fields. */
export const personaDetailsSchema = personaSchema.omit({ version: true, opening_lines: true });
export type PersonaDetails = z.infer<typeof personaDetailsSchema>;

export function toPersonaDetails(persona: Persona): PersonaDetails {
  const { version: _version, opening_lines: _lines, ...details } = persona;
  return details;
}
