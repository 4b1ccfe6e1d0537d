/**
 * Which stored fields are encrypted, and how: the one place that knows the document shapes and
 * the associated data (collection, id, field) each value is bound to. Readers accept plain
 * values too (data written before encryption was on, or with it off), which is also what lets
 * `smart-steps keys rotate` convert a database in place while it serves.
 */
import type { Config } from '../config';
import { CLIENT_SEALABLE } from './categories';
import type { ClientSealable, KeyPurpose, SessionSealable } from './categories';
import { Keyring } from './keyring';
import { isSealed, seal, sealedKeyId, unseal } from './sealed';

/**
 * Where each server-side secret is bound when sealed: one definition for the code that seals it,
 * the code that opens it and `keys rotate`.
 */
export const SECRET_AAD = {
  webhook: (webhookId: string) => `webhooks:${webhookId}:secret`,
  signingSecret: (apiKeyId: string) => `api_keys:${apiKeyId}:signing_secret`,
} as const;

export interface SealedField {
  collection: string;
  field: string;
  purpose: KeyPurpose;
  aad: (id: string) => string;
  wanted: boolean;
}

/** The analysis held on a session document, sealed as one value each. */
export const ASSESSMENT_FIELDS = ['summary', 'insights', 'analysis'] as const;

export class FieldCrypto {
  private readonly clientFields: ReadonlySet<string>;
  private readonly sessionParts: ReadonlySet<SessionSealable>;

  constructor(
    private readonly ring: Keyring | undefined,
    settings: Pick<Config['security']['encryption'], 'enabled' | 'encrypted_fields'>,
  ) {
    const on = settings.enabled && ring !== undefined;
    this.clientFields = new Set(on ? settings.encrypted_fields.client : []);
    this.sessionParts = new Set(on ? settings.encrypted_fields.session : []);
  }

  /**
   * From the config. With encryption off and no keys, values are stored plain and only plain
   * values can be read; with it on, missing keys are a configuration error at start-up.
   */
  static fromConfig(config: Config): FieldCrypto {
    const enc = config.security.encryption;
    let ring: Keyring | undefined;
    try {
      ring = Keyring.fromConfig(config);
    } catch (err) {
      if (enc.enabled) throw err;
    }
    return new FieldCrypto(ring, enc);
  }

  get keyring(): Keyring | undefined {
    return this.ring;
  }

  get activeKeyId(): string | undefined {
    return this.ring?.activeId;
  }

  // --- clients -------------------------------------------------------------------------------

  /** The client fields to store: the listed ones sealed, with the blind indexes for search. */
  sealClient<T extends Record<string, unknown>>(clientId: string, fields: T): T {
    const out: Record<string, unknown> = { ...fields };
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined || value === null || !this.clientFields.has(name)) continue;
      out[name] = this.seal('client', value, `clients:${clientId}:${name}`);
    }
    return out as T;
  }

  openClient<T extends { client_id?: string; _id?: string }>(doc: T): T {
    const id = doc.client_id ?? doc._id;
    const out: Record<string, unknown> = { ...doc };
    for (const [name, value] of Object.entries(doc)) {
      if (isSealed(value)) out[name] = this.open('client', value, `clients:${id}:${name}`);
    }
    return out as T;
  }

  /**
   * Keyed hashes of a client's searchable tokens: the prefixes (from two characters) of every
   * word of the names and of the whole e-mail address, so "ali" finds Alice and "omar@ex" finds
   * omar@example.com. Equal tokens give equal hashes; the tokens themselves are not recoverable
   * without the index key.
   */
  clientSearchIndex(client: { first_name?: string; last_name?: string; email?: string }): string[] {
    const tokens = new Set<string>();
    for (const word of words([client.first_name, client.last_name].join(' '))) {
      for (const p of prefixes(word)) tokens.add(p);
    }
    if (client.email) for (const p of prefixes(normaliseEmail(client.email))) tokens.add(p);
    return [...tokens].map((t) => this.index(t));
  }

  /**
   * What a search term matches, as alternatives: the whole term as one token (an e-mail's
   * beginning, a word), or every word of it (each the beginning of a name's word). Undefined
   * when the term has nothing searchable.
   */
  searchTerms(search: string): { whole?: string; words: string[] } | undefined {
    const term = normaliseEmail(search);
    const ws = words(term).filter((w) => w.length >= MIN_PREFIX);
    const whole = term.length >= MIN_PREFIX && !/\s/.test(term) ? this.index(term) : undefined;
    if (!whole && ws.length === 0) return undefined;
    return { ...(whole ? { whole } : {}), words: ws.map((w) => this.index(w)) };
  }

  /** The keyed hash standing for an e-mail address (unique per owner without storing it). */
  emailIndex(email: string): string {
    return this.index(`email:${normaliseEmail(email)}`);
  }

  private index(token: string): string {
    if (!this.ring) return `plain:${token}`;
    return this.ring.blindIndex('client', token);
  }

  // --- sessions --------------------------------------------------------------------------------

  sealMessageContent(messageId: string, content: string): string {
    return this.sessionParts.has('transcript')
      ? this.seal('transcript', content, `messages:${messageId}:content`)
      : content;
  }

  openMessage<T extends { content: string; id?: string; _id?: string }>(m: T): T {
    if (!isSealed(m.content)) return m;
    return {
      ...m,
      content: this.open<string>('transcript', m.content, `messages:${m.id ?? m._id}:content`),
    };
  }

  sealNoteContent(noteId: string, content: string): string {
    return this.sessionParts.has('notes')
      ? this.seal('notes', content, `notes:${noteId}:content`)
      : content;
  }

  openNote<T extends { content: string; id?: string; _id?: string }>(n: T): T {
    if (!isSealed(n.content)) return n;
    return {
      ...n,
      content: this.open<string>('notes', n.content, `notes:${n.id ?? n._id}:content`),
    };
  }

  /** The session document's copy of its first messages or notes (a JSON string), sealed whole. */
  sealView(sessionId: string, list: 'messages' | 'notes', json: string): string {
    const part: SessionSealable = list === 'messages' ? 'transcript' : 'notes';
    return this.sessionParts.has(part)
      ? this.seal(part, json, `sessions:${sessionId}:view_${list}`)
      : json;
  }

  openView(sessionId: string, list: 'messages' | 'notes', value: string): string {
    return this.open<string>(
      list === 'messages' ? 'transcript' : 'notes',
      value,
      `sessions:${sessionId}:view_${list}`,
    );
  }

  /** A page of the transcript (lib/store/transcript-pages.ts), a JSON string sealed whole. */
  sealTranscriptPage(pageId: string, json: string): string {
    return this.sessionParts.has('transcript')
      ? this.seal('transcript', json, `transcript_pages:${pageId}:messages`)
      : json;
  }

  openTranscriptPage(pageId: string, value: string): string {
    return this.open<string>('transcript', value, `transcript_pages:${pageId}:messages`);
  }

  /** Summary, insights and analysis of a session: each value sealed as a whole. */
  sealAssessment<T extends Record<string, unknown>>(sessionId: string, fields: T): T {
    if (!this.sessionParts.has('assessment')) return fields;
    const out: Record<string, unknown> = { ...fields };
    for (const name of ASSESSMENT_FIELDS) {
      const value = fields[name];
      if (value === undefined || value === null) continue;
      out[name] = this.seal('assessment', value, `sessions:${sessionId}:${name}`);
    }
    return out as T;
  }

  /** Sealed under one name of ASSESSMENT_FIELDS, for a `$set` of a nested path's parent. */
  sealAssessmentValue(sessionId: string, name: (typeof ASSESSMENT_FIELDS)[number], value: unknown) {
    return this.sessionParts.has('assessment')
      ? this.seal('assessment', value, `sessions:${sessionId}:${name}`)
      : value;
  }

  openAssessment<T extends Record<string, unknown>>(sessionId: string, doc: T): T {
    let out: Record<string, unknown> | undefined;
    for (const name of ASSESSMENT_FIELDS) {
      const value = doc[name];
      if (!isSealed(value)) continue;
      out ??= { ...doc };
      out[name] = this.open('assessment', value, `sessions:${sessionId}:${name}`);
    }
    return (out ?? doc) as T;
  }

  // --- secrets and queued payloads -------------------------------------------------------------

  /**
   * Secrets the server must use again (webhook signing secrets, request-signing secrets) are
   * always sealed when keys exist, whatever `encrypted_fields` says: they are credentials.
   */
  sealSecret(aad: string, secret: string): string {
    return this.ring ? seal(this.ring, 'credential', secret, aad) : secret;
  }

  openSecret(aad: string, value: string): string {
    return this.open<string>('credential', value, aad);
  }

  /** A queued webhook payload (it carries message content and notes). */
  sealPayload(taskId: string, payload: unknown): unknown {
    return this.sessionParts.has('transcript')
      ? this.seal('webhook', payload, `webhook_tasks:${taskId}:payload`)
      : payload;
  }

  openPayload<T>(taskId: string, value: unknown): T {
    return this.open<T>('webhook', value, `webhook_tasks:${taskId}:payload`);
  }

  // --- what is sealed where (for `smart-steps keys rotate|status`) ------------------------------

  /**
   * Every stored field that is or may be sealed: its collection, purpose and associated data,
   * and whether values written now are sealed (`wanted`). Keep in step with the methods above.
   */
  sealedFields(): SealedField[] {
    const client = (field: string): SealedField => ({
      collection: 'clients',
      field,
      purpose: 'client',
      aad: (id) => `clients:${id}:${field}`,
      wanted: this.clientFields.has(field),
    });
    const assessment = (field: string): SealedField => ({
      collection: 'sessions',
      field,
      purpose: 'assessment',
      aad: (id) => `sessions:${id}:${field}`,
      wanted: this.sessionParts.has('assessment'),
    });
    const payload = (collection: string): SealedField => ({
      collection,
      field: 'payload',
      purpose: 'webhook',
      aad: (id) => `webhook_tasks:${id}:payload`,
      wanted: this.sessionParts.has('transcript'),
    });
    return [
      ...CLIENT_SEALABLE.map(client),
      {
        collection: 'messages',
        field: 'content',
        purpose: 'transcript',
        aad: (id) => `messages:${id}:content`,
        wanted: this.sessionParts.has('transcript'),
      },
      {
        collection: 'notes',
        field: 'content',
        purpose: 'notes',
        aad: (id) => `notes:${id}:content`,
        wanted: this.sessionParts.has('notes'),
      },
      {
        collection: 'sessions',
        field: 'view_messages',
        purpose: 'transcript',
        aad: (id) => `sessions:${id}:view_messages`,
        wanted: this.sessionParts.has('transcript'),
      },
      {
        collection: 'transcript_pages',
        field: 'messages',
        purpose: 'transcript',
        aad: (id) => `transcript_pages:${id}:messages`,
        wanted: this.sessionParts.has('transcript'),
      },
      {
        collection: 'sessions',
        field: 'view_notes',
        purpose: 'notes',
        aad: (id) => `sessions:${id}:view_notes`,
        wanted: this.sessionParts.has('notes'),
      },
      ...ASSESSMENT_FIELDS.map(assessment),
      {
        collection: 'webhooks',
        field: 'secret',
        purpose: 'credential',
        aad: SECRET_AAD.webhook,
        wanted: this.ring !== undefined,
      },
      payload('webhook_tasks'),
      payload('webhook_tasks_done'),
      {
        // API keys' request-signing secrets, sealed by lib/auth/signing-secrets.ts (never plain).
        collection: 'api_keys',
        field: 'signing_secret',
        purpose: 'credential',
        aad: SECRET_AAD.signingSecret,
        wanted: this.ring !== undefined,
      },
    ];
  }

  /**
   * The value to store instead of `value` so that it is sealed under the active key, or
   * undefined when it already is (or is not to be sealed).
   */
  rewrap(spec: SealedField, id: string, value: unknown): string | undefined {
    if (value === undefined || value === null || !this.ring) return undefined;
    const keyId = sealedKeyId(value);
    if (keyId === this.ring.activeId) return undefined;
    if (keyId === undefined && !spec.wanted) return undefined;
    const plain = this.open(spec.purpose, value, spec.aad(id));
    return this.seal(spec.purpose, plain, spec.aad(id));
  }

  // --- helpers ---------------------------------------------------------------------------------

  isClientFieldSealed(name: ClientSealable): boolean {
    return this.clientFields.has(name);
  }

  isSessionPartSealed(part: SessionSealable): boolean {
    return this.sessionParts.has(part);
  }

  private seal(purpose: KeyPurpose, value: unknown, aad: string): string {
    return seal(this.ring!, purpose, value, aad);
  }

  private open<T>(purpose: KeyPurpose, value: unknown, aad: string): T {
    if (!isSealed(value)) return value as T;
    if (!this.ring) {
      throw new Error('an encrypted value was read but no encryption keys are configured');
    }
    return unseal<T>(this.ring, purpose, value, aad);
  }
}

/** Shorter prefixes would let hashes betray initials by their frequency. */
export const MIN_PREFIX = 2;

function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

function prefixes(word: string): string[] {
  if (word.length <= MIN_PREFIX) return [word];
  const out: string[] = [];
  for (let n = MIN_PREFIX; n <= word.length; n++) out.push(word.slice(0, n));
  return out;
}

function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
