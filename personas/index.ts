export {
  personaSchema,
  personaSummarySchema,
  personaTypeSchema,
  toPersonaSummary,
  type Persona,
  type PersonaSummary,
  type PersonaType,
} from './schema';
export {
  defaultDefinitionsDir,
  loadPersonaDefinitions,
  PersonaDefinitionError,
  PersonaRegistry,
} from './registry';
export { createLocalEngine } from './engine/local';
export type * from './engine/types';
