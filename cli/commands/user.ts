/**
 * `smart-steps user create|list|reset-password|unlock`: managing who can log in. Passwords are
 * never printed; a reset also ends the user's login sessions, so a stolen session dies with the
 * old password, and lifts a lock-out after failed logins (as `unlock` does on its own).
 */
import { createLogger } from '../../lib/log';
import { RevocationList } from '../../lib/auth/revocations';
import { ROLES, RoleSchema } from '../../lib/auth/roles';
import { revokeUserSessions } from '../../lib/auth/sessions';
import { UserStore } from '../../lib/auth/users';
import { NotFoundError } from '../../lib/errors';
import { ensureIndexes } from '../../lib/store/collections';
import { UsageError } from '../index';
import { unlockAccount } from '../../api/limits/login-guard';
import {
  asUsage,
  commandConfig,
  parseFlags,
  printTable,
  required,
  resolvePassword,
  subcommand,
  when,
  withNats,
  withStore,
} from './support';

export async function runUser(args: string[]): Promise<void> {
  const [sub, rest] = subcommand(args, ['create', 'list', 'reset-password', 'unlock']);
  if (sub === 'create') return create(rest);
  if (sub === 'list') return list(rest);
  if (sub === 'unlock') return unlock(rest);
  return resetPassword(rest);
}

async function create(args: string[]): Promise<void> {
  const flags = parseFlags(args, {
    username: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string' },
    password: { type: 'string' },
  });
  const username = required(flags.username, 'username');
  const email = required(flags.email, 'email');
  const role = RoleSchema.safeParse(required(flags.role, 'role'));
  if (!role.success) throw new UsageError(`--role must be one of: ${ROLES.join(', ')}`);
  const config = commandConfig(args);
  const password = await resolvePassword(flags.password);

  const user = await withStore(config, async ({ db }) => {
    // The unique indexes are what keep usernames and e-mails unique: make sure they exist.
    await ensureIndexes(db);
    return asUsage(new UserStore(db).create({ username, email, role: role.data, password }));
  });
  process.stdout.write(`created user ${user.username} (${user.user_id}), role ${user.role}\n`);
}

async function list(args: string[]): Promise<void> {
  const flags = parseFlags(args, { json: { type: 'boolean' } });
  const config = commandConfig(args);
  const users = await withStore(config, ({ db }) => new UserStore(db).list());
  if (flags.json) {
    process.stdout.write(JSON.stringify(users, null, 2) + '\n');
    return;
  }
  printTable(
    ['USER ID', 'USERNAME', 'EMAIL', 'ROLE', 'CREATED'],
    users.map((u) => [u.user_id, u.username, u.email, u.role, when(u.created_at)]),
    'no users',
  );
}

async function unlock(args: string[]): Promise<void> {
  const flags = parseFlags(args, { username: { type: 'string' } });
  const login = required(flags.username, 'username');
  const config = commandConfig(args);
  const { username, lifted } = await withStore(config, async ({ db }) => {
    const user = await new UserStore(db).findByLogin(login);
    if (!user) throw new NotFoundError(`no user '${login}'`);
    const lifted = await withNats(config, async (nc) => {
      // The lock lives in NATS: without it there is nothing this command can lift.
      if (!nc) throw new UsageError('NATS is unreachable, so the lock-out cannot be lifted');
      return unlockAccount(nc, user.user_id);
    });
    return { username: user.username, lifted };
  });
  process.stdout.write(lifted ? `unlocked ${username}\n` : `${username} was not locked out\n`);
}

async function resetPassword(args: string[]): Promise<void> {
  const flags = parseFlags(args, { username: { type: 'string' }, password: { type: 'string' } });
  const login = required(flags.username, 'username');
  const config = commandConfig(args);
  const password = await resolvePassword(flags.password);
  const log = createLogger('cli', 'warn');

  const { username, ended } = await withStore(config, async ({ db }) => {
    const users = new UserStore(db);
    const user = await users.findByLogin(login);
    if (!user) throw new NotFoundError(`no user '${login}'`);
    await asUsage(users.resetPassword(user.user_id, password));
    const ended = await withNats(config, async (nc) => {
      if (nc) await unlockAccount(nc, user.user_id);
      return revokeUserSessions(
        db,
        new RevocationList(db, {
          nc,
          accessTokenTtlSeconds: config.auth.access_token_ttl_seconds,
          log,
        }),
        user.user_id,
        'password_reset',
      );
    });
    return { username: user.username, ended };
  });
  const sessions = ended === 1 ? '1 login session' : `${ended} login sessions`;
  process.stdout.write(`password reset for ${username}; ended ${sessions}\n`);
}
