/**
 * Every persona a session can be held with: the read-only definition files plus custom personas
 * that administrators add through the API. Custom personas are stored as immutable versions in
 * `personas` (`_id` = `<persona_id>@<version>`, so every read is an `_id` lookup) with a small
 * `persona_heads` document per persona naming its current version. A session records the
 * version it started with and the persona pool asks for exactly that one; written versions
 * never change, so they are cached in memory.
 */
import type { Db } from 'mongodb';
import { ConflictError, NotFoundError } from '../lib/errors';
import {
  COLLECTIONS,
  isDuplicateKey,
  type PersonaHeadDoc,
  type PersonaVersionDoc,
} from '../lib/store/collections';
import type { PersonaRegistry } from './registry';
import type { Persona } from './schema';

/** A definition as an administrator sends it: the version is the server's to set. */
export type PersonaDefinition = Omit<Persona, 'version'>;

const versionKey = (id: string, version: number) => `${id}@${version}`;

export class PersonaCatalog {
  private readonly versions = new Map<string, Persona>();

  constructor(
    readonly files: PersonaRegistry,
    private readonly db: Db,
  ) {}

  private get heads() {
    return this.db.collection<PersonaHeadDoc>(COLLECTIONS.personaHeads);
  }

  private get stored() {
    return this.db.collection<PersonaVersionDoc>(COLLECTIONS.personas);
  }

  /**
   * A persona by id: the given version, or the current one. A definition file has one version
   * (its own), returned whatever version is asked for, as before custom personas existed.
   */
  async get(id: string, version?: number): Promise<Persona | undefined> {
    const file = this.files.get(id);
    if (file) return file;
    let at = version;
    if (at === undefined) {
      const head = await this.heads.findOne({ _id: id });
      if (!head) return undefined;
      at = head.version;
    }
    return this.version(id, at);
  }

  private async version(id: string, version: number): Promise<Persona | undefined> {
    const key = versionKey(id, version);
    const cached = this.versions.get(key);
    if (cached) return cached;
    const doc = await this.stored.findOne({ _id: key });
    if (!doc) return undefined;
    const persona = toPersona(doc);
    this.versions.set(key, persona);
    return persona;
  }

  /** Definition files, then custom personas at their current versions, each by persona_id. */
  async list(): Promise<Persona[]> {
    const heads = await this.heads.find({}).toArray();
    const custom: Persona[] = [];
    for (const head of heads) {
      const persona = await this.version(head._id, head.version);
      if (persona) custom.push(persona);
    }
    const all = [...this.files.list(), ...custom];
    return all.sort((a, b) =>
      a.persona_id < b.persona_id ? -1 : a.persona_id > b.persona_id ? 1 : 0,
    );
  }

  /** Adds a custom persona at version 1; an id already taken (file or custom) is a conflict. */
  async create(def: PersonaDefinition, createdBy: string): Promise<Persona> {
    const id = def.persona_id;
    if (this.files.get(id)) {
      throw new ConflictError(`Persona ${id} already exists (a built-in persona)`, {
        field: 'persona_id',
        reason: 'already exists',
      });
    }
    const now = new Date().toISOString();
    try {
      // The head claims the id first, so two concurrent creates cannot both write version 1.
      await this.heads.insertOne({ _id: id, version: 1, created_at: now, updated_at: now });
    } catch (err) {
      if (isDuplicateKey(err)) {
        throw new ConflictError(`Persona ${id} already exists`, {
          field: 'persona_id',
          reason: 'already exists',
        });
      }
      throw err;
    }
    return this.write(def, 1, createdBy, now);
  }

  /**
   * Replaces a custom persona's definition with a new version; earlier versions stay, for the
   * sessions that started with them. Built-in personas are read-only (409).
   */
  async update(id: string, def: PersonaDefinition, updatedBy: string): Promise<Persona> {
    if (this.files.get(id)) {
      throw new ConflictError(`Persona ${id} is built in and cannot be changed`, {
        reason: 'built-in persona',
      });
    }
    const head = await this.heads.findOne({ _id: id });
    if (!head) throw new NotFoundError(`Persona ${id} not found`);
    const next = head.version + 1;
    const now = new Date().toISOString();
    let persona: Persona;
    try {
      persona = await this.write({ ...def, persona_id: id }, next, updatedBy, now);
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Another update wrote this version first (or one stopped before moving the head): make
      // sure the head names it, so a retry writes the version after it.
      await this.heads.updateOne(
        { _id: id, version: head.version },
        { $set: { version: next, updated_at: now } },
      );
      throw concurrentUpdate(id);
    }
    const moved = await this.heads.updateOne(
      { _id: id, version: head.version },
      { $set: { version: next, updated_at: now } },
    );
    if (moved.matchedCount !== 1) throw concurrentUpdate(id);
    return persona;
  }

  private async write(
    def: PersonaDefinition,
    version: number,
    by: string,
    at: string,
  ): Promise<Persona> {
    const persona: Persona = { ...def, version };
    await this.stored.insertOne({
      _id: versionKey(def.persona_id, version),
      ...persona,
      created_at: at,
      created_by: by,
    });
    this.versions.set(versionKey(def.persona_id, version), persona);
    return persona;
  }
}

function concurrentUpdate(id: string): ConflictError {
  return new ConflictError(`Persona ${id} was changed concurrently; retry`, {
    reason: 'concurrent update',
  });
}

function toPersona(doc: PersonaVersionDoc): Persona {
  const { _id, created_at: _c, created_by: _b, ...persona } = doc;
  return persona;
}
