/**
 * Persona definitions live as data files, one per persona, named after its `persona_id`.
 * They are read and validated once at start-up so a broken file stops the process with a
 * one-line message naming the file and the field; after that the registry is pure lookups.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { personaSchema, type Persona } from './schema';

export class PersonaDefinitionError extends Error {
  override name = 'PersonaDefinitionError';
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${displayPath(file)}: ${detail}`);
  }
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Run from source, definitions sit beside this file; compiled to `dist/personas/`, they are
 * not copied, so look back in the source tree.
 */
export function defaultDefinitionsDir(): string {
  const beside = path.join(__dirname, 'definitions');
  if (existsSync(beside)) return beside;
  return path.join(__dirname, '..', '..', 'personas', 'definitions');
}

export function loadPersonaDefinitions(dir: string = defaultDefinitionsDir()): Persona[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new PersonaDefinitionError(dir, `cannot read directory: ${(err as Error).message}`);
  }
  const seen = new Map<string, string>();
  const personas: Persona[] = [];
  for (const name of names.sort()) {
    const ext = path.extname(name).toLowerCase();
    if (!EXTENSIONS.has(ext)) continue;
    const file = path.join(dir, name);
    const persona = parseDefinition(file, ext);
    const stem = path.basename(name, path.extname(name));
    if (persona.persona_id !== stem) {
      throw new PersonaDefinitionError(
        file,
        `persona_id: "${persona.persona_id}" must match the file name "${stem}"`,
      );
    }
    const other = seen.get(persona.persona_id);
    if (other) {
      throw new PersonaDefinitionError(
        file,
        `persona_id: "${persona.persona_id}" is already defined in ${displayPath(other)}`,
      );
    }
    seen.set(persona.persona_id, file);
    personas.push(persona);
  }
  return personas;
}

function parseDefinition(file: string, ext: string): Persona {
  let raw: unknown;
  try {
    const source = readFileSync(file, 'utf8');
    raw = ext === '.json' ? JSON.parse(source) : parseYaml(source);
  } catch (err) {
    const first = ((err as Error).message.split('\n')[0] ?? '').trim();
    throw new PersonaDefinitionError(file, `cannot parse: ${first}`);
  }
  const result = personaSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new PersonaDefinitionError(file, describeIssue(issue, raw));
  }
  return result.data;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const at = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return `${[...at, issue.keys[0] ?? '?'].join('.')}: unknown field`;
  }
  const field = at.join('.') || '(root)';
  if (issue.code === 'invalid_type') {
    if (valueAt(raw, issue.path) === undefined) return `${field}: is required`;
    return `${field}: expected ${issue.expected}`;
  }
  if (issue.code === 'invalid_value') {
    return `${field}: must be one of ${issue.values.map((v) => String(v)).join(', ')}`;
  }
  return `${field}: ${issue.message}`;
}

function valueAt(root: unknown, keyPath: PropertyKey[]): unknown {
  let node = root;
  for (const key of keyPath) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Relative to the working directory when inside it, so messages stay short in logs. */
function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export class PersonaRegistry {
  private readonly byId: Map<string, Persona>;
  private readonly sorted: Persona[];

  constructor(personas: readonly Persona[]) {
    // Code-unit order, not locale order, so every process lists personas the same way.
    this.sorted = [...personas].sort((a, b) =>
      a.persona_id < b.persona_id ? -1 : a.persona_id > b.persona_id ? 1 : 0,
    );
    this.byId = new Map(this.sorted.map((p) => [p.persona_id, p]));
    if (this.byId.size !== this.sorted.length) {
      throw new Error('PersonaRegistry: persona_id values must be unique');
    }
  }

  get(id: string): Persona | undefined {
    return this.byId.get(id);
  }

  list(): Persona[] {
    return [...this.sorted];
  }
}
