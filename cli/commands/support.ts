/**
 * What the administration commands (db, user, apikey) share: flag parsing that reports misuse as
 * a UsageError (exit 2), a database connection that is always closed, a best-effort NATS
 * connection, plain tables, and reading a password without it showing on screen.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import * as os from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { loadConfigOrExit, readPasswordFromEnv, type Config } from '../../lib/config';
import { ValidationError } from '../../lib/errors';
import { connectStore, type Store } from '../../lib/mongo';
import { UsageError } from '../index';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses `args` (after the subcommand); `--config` is always accepted. */
export function parseFlags<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({
      args,
      options: { ...options, config: { type: 'string' } },
      allowPositionals: false,
      strict: true,
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Splits `user create …` into the subcommand and its flags. */
export function subcommand(args: string[], known: readonly string[]): [string, string[]] {
  const [sub, ...rest] = args;
  if (!sub || !known.includes(sub)) {
    throw new UsageError(
      sub ? `unknown subcommand '${sub}'` : `a subcommand is needed: ${known.join(', ')}`,
    );
  }
  return [sub, rest];
}

export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Input the library refused as invalid is a command-line problem: exit 2, not 1. */
export async function asUsage<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof ValidationError) throw new UsageError(err.message);
    throw err;
  }
}

export function commandConfig(args: string[]): Config {
  return loadConfigOrExit({ argv: args });
}

export async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await connectStore(config, 'smart-steps-cli');
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/**
 * NATS for announcing a revocation to running processes. Best effort: without it they still
 * notice within `auth.api_keys.cache_seconds` (keys) or at their next start (login sessions).
 */
export async function withNats<T>(
  config: Config,
  work: (nc: NatsConnection | undefined) => Promise<T>,
): Promise<T> {
  let nc: NatsConnection | undefined;
  try {
    nc = await connect({
      servers: config.nats.servers,
      name: 'smart-steps-cli',
      timeout: 3_000,
      maxReconnectAttempts: 0,
    });
  } catch (err) {
    process.stderr.write(
      `warning: NATS unreachable (${(err as Error).message}); running API processes are not told now\n`,
    );
  }
  try {
    return await work(nc);
  } finally {
    if (nc) {
      // Drain flushes what was published before closing.
      await nc.drain().catch(() => undefined);
    }
  }
}

/** Who is at the keyboard, for `created_by`. */
export function cliActor(): string {
  try {
    return `cli:${os.userInfo().username}`;
  } catch {
    return 'cli';
  }
}

/** Columns padded to their widest cell; empty lists say so instead of printing a bare header. */
export function printTable(headers: string[], rows: string[][], empty: string): void {
  if (rows.length === 0) {
    process.stdout.write(`${empty}\n`);
    return;
  }
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write([line(headers), ...rows.map(line)].join('\n') + '\n');
}

/** ISO time to the second, or a dash. */
export function when(iso: string | null | undefined, none = '-'): string {
  return iso ? iso.replace(/\.\d{3}Z$/, 'Z') : none;
}

/**
 * The password for a command: `--password`, else SMARTSTEPS_PASSWORD (scripts: keeps it out of
 * `ps` and shell history), else a prompt without echo when a person is at a terminal.
 */
export async function resolvePassword(flag: string | undefined): Promise<string> {
  if (flag !== undefined) return flag;
  const fromEnv = readPasswordFromEnv();
  if (fromEnv !== undefined) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new UsageError(
      'no password given: use --password, set SMARTSTEPS_PASSWORD, or run in a terminal to be asked',
    );
  }
  const first = await promptHidden('Password: ');
  const second = await promptHidden('Repeat password: ');
  if (first !== second) throw new UsageError('the passwords do not match');
  return first;
}

/** Reads one line from the terminal in raw mode, echoing nothing. Ctrl-C cancels. */
/** Reads one line from the terminal in raw mode, echoing nothing. Ctrl-C cancels. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      if (chunk.startsWith('\u001b')) return; // arrow keys and the like: not part of a password
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new UsageError('cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
