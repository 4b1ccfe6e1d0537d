/**
 * People who log in: facilitators, admins, viewers. Usernames and e-mails are unique ignoring
 * case, enforced by unique indexes on lowercase copies (FerretDB has no collation). Password
 * hashes stay inside this module: nothing it returns carries one.
 */
import type { Collection, Db } from 'mongodb';
import { z } from 'zod';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import { newId } from '../ids';
import { COLLECTIONS, isDuplicateKey } from '../store/collections';
import { hashPassword, needsRehash, verifyPassword } from './passwords';
import { RoleSchema, type Role } from './roles';

export interface User {
  user_id: string;
  username: string;
  email: string;
  role: Role;
  created_at: string;
  updated_at: string;
}

export type UserDoc = User & {
  _id: string;
  username_lower: string;
  email_lower: string;
  password_hash: string;
};

// No '@' in usernames, so a login containing one is always an e-mail and never ambiguous.
export const UsernameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$/,
    'must be 2–64 letters, digits, dots, dashes or underscores, starting with a letter or digit',
  );
// Deliberately loose (dev stacks use admin@localhost); the address is an identifier, not mail.
export const EmailSchema = z
  .string()
  .max(254)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an e-mail address');

export const NewUserSchema = z.object({
  username: UsernameSchema,
  email: EmailSchema,
  role: RoleSchema,
  password: z.string(),
});
export type NewUser = z.infer<typeof NewUserSchema>;

const PUBLIC = {
  projection: { _id: 0, password_hash: 0, username_lower: 0, email_lower: 0 },
} as const;

export class UserStore {
  /** A real hash to verify against when no user matches, so a miss costs as long as a hit. */
  private dummyHash?: Promise<string>;

  constructor(private readonly db: Db) {}

  private get users(): Collection<UserDoc> {
    return this.db.collection<UserDoc>(COLLECTIONS.users);
  }

  async create(input: NewUser): Promise<User> {
    const parsed = NewUserSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ValidationError(`${issue.path.join('.')}: ${issue.message}`, {
        field: issue.path.join('.'),
      });
    }
    const { username, email, role, password } = parsed.data;
    const now = new Date().toISOString();
    const user: User = {
      user_id: newId('user'),
      username,
      email,
      role,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.users.insertOne({
        _id: user.user_id,
        ...user,
        username_lower: username.toLowerCase(),
        email_lower: email.toLowerCase(),
        password_hash: await hashPassword(password),
      });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      // Which unique index refused it: servers word the error differently, so ask.
      const taken = await this.users.findOne(
        { username_lower: username.toLowerCase() },
        { projection: { _id: 1 } },
      );
      throw taken
        ? new ConflictError(`username '${username}' is already taken`, { field: 'username' })
        : new ConflictError(`email '${email}' is already registered`, { field: 'email' });
    }
    return user;
  }

  /** Oldest first, without password hashes. */
  async list(): Promise<User[]> {
    return this.users.find({}, PUBLIC).sort({ created_at: 1, user_id: 1 }).toArray();
  }

  async get(userId: string): Promise<User | null> {
    return this.users.findOne({ _id: userId }, PUBLIC);
  }

  /** By username or e-mail, ignoring case. */
  async findByLogin(login: string): Promise<User | null> {
    return this.users.findOne(loginFilter(login), PUBLIC);
  }

  async count(): Promise<number> {
    return this.users.countDocuments({});
  }

  /** Sets a new password (policy-checked); NotFoundError when the user does not exist. */
  async resetPassword(userId: string, password: string): Promise<void> {
    const passwordHash = await hashPassword(password);
    const result = await this.users.updateOne(
      { _id: userId },
      { $set: { password_hash: passwordHash, updated_at: new Date().toISOString() } },
    );
    if (result.matchedCount === 0) throw new NotFoundError(`user ${userId} not found`);
  }

  async delete(userId: string): Promise<boolean> {
    return (await this.users.deleteOne({ _id: userId })).deletedCount === 1;
  }

  /**
   * The user when `password` is theirs, else null. Takes the same time whether or not the login
   * exists, so it cannot be used to discover accounts.
   */
  async verifyCredentials(login: string, password: string): Promise<User | null> {
    const doc = login ? await this.users.findOne(loginFilter(login)) : null;
    if (!doc) {
      await verifyPassword(password, await this.dummy());
      return null;
    }
    if (!(await verifyPassword(password, doc.password_hash))) return null;
    if (needsRehash(doc.password_hash)) await this.rehash(doc._id, password);
    return toUser(doc);
  }

  private async rehash(userId: string, password: string): Promise<void> {
    try {
      await this.users.updateOne(
        { _id: userId },
        { $set: { password_hash: await hashPassword(password) } },
      );
    } catch {
      // An old-format hash still verifies; upgrading it can wait for the next login.
    }
  }

  private dummy(): Promise<string> {
    this.dummyHash ??= hashPassword('not-a-real-password-just-timing');
    return this.dummyHash;
  }
}

function loginFilter(login: string): Partial<UserDoc> {
  const lower = login.trim().toLowerCase();
  return lower.includes('@') ? { email_lower: lower } : { username_lower: lower };
}

function toUser(doc: UserDoc): User {
  return {
    user_id: doc.user_id,
    username: doc.username,
    email: doc.email,
    role: doc.role,
    created_at: doc.created_at,
    updated_at: doc.updated_at,
  };
}
