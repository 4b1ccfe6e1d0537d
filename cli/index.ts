/**
 * `smart-steps <command>`: the operator's entry point, mirroring the spec's command list.
 * Exit codes: 0 success, 1 the command failed, 2 the command line or configuration is wrong.
 */
import { VERSION } from '../lib/version';

interface Command {
  summary: string;
  usage: string;
  run(args: string[]): Promise<void> | void;
}

const COMMANDS: Record<string, Command> = {
  server: {
    summary: 'Run the API server (REST, WebSocket, health)',
    usage: 'smart-steps server [--config PATH] [--debug]',
    run: async (args) => {
      // Loaded on demand: each command pulls in only its own dependencies.
      const { runServer } = require('./commands/server') as typeof import('./commands/server');
      await runServer(args);
    },
  },
  worker: {
    summary: 'Run a worker pool process',
    usage: 'smart-steps worker --pool sessions|personas|webhooks [--config PATH]',
    run: async (args) => {
      const { runWorker } = require('./commands/worker') as typeof import('./commands/worker');
      await runWorker(args);
    },
  },
  'gen-openapi': {
    summary: 'Write the OpenAPI 3.1 document of the REST API (stdout without --output)',
    usage: 'smart-steps gen-openapi [--output FILE]',
    run: (args) => {
      const { runGenOpenApi } =
        require('./commands/gen-openapi') as typeof import('./commands/gen-openapi');
      runGenOpenApi(args);
    },
  },
  db: {
    summary: 'Database: create collections and indexes, migrate, back up, restore',
    usage: [
      'smart-steps db init',
      'smart-steps db status [--json]',
      'smart-steps db migrate [--dry-run] [--json]',
      'smart-steps db backup --output FILE.zip [--force]',
      'smart-steps db restore --input FILE.zip [--force]',
      '(init is idempotent and records the schema version; restore replaces a database holding data only with --force)',
    ].join('\n       '),
    run: async (args) => {
      const { runDb } = require('./commands/db') as typeof import('./commands/db');
      await runDb(args);
    },
  },
  user: {
    summary: 'Create and list users, reset passwords',
    usage: [
      'smart-steps user create --username U --email E --role admin|facilitator|viewer [--password P]',
      'smart-steps user list [--json]',
      'smart-steps user reset-password --username U|EMAIL [--password P]',
      'smart-steps user unlock --username U|EMAIL',
      '(password: --password, else SMARTSTEPS_PASSWORD, else asked for at a terminal)',
    ].join('\n       '),
    run: async (args) => {
      const { runUser } = require('./commands/user') as typeof import('./commands/user');
      await runUser(args);
    },
  },
  apikey: {
    summary: 'Generate, list and revoke API keys',
    usage: [
      'smart-steps apikey generate --name N [--expiry DAYS] [--scopes a,b] [--user USERNAME] [--allowed-ips IP,CIDR] [--require-signature]',
      'smart-steps apikey list [--json]',
      'smart-steps apikey revoke --id ID|KEY',
      'smart-steps apikey rotate --id ID [--overlap-days 7]',
    ].join('\n       '),
    run: async (args) => {
      const { runApiKey } = require('./commands/apikey') as typeof import('./commands/apikey');
      await runApiKey(args);
    },
  },
  keys: {
    summary: 'Encryption keys: add a version, show usage, re-encrypt, retire',
    usage: [
      'smart-steps keys generate',
      'smart-steps keys status [--json]',
      'smart-steps keys rotate [--batch-size 200]',
      'smart-steps keys retire --id KEY_ID',
    ].join('\n       '),
    run: async (args) => {
      const { runKeys } = require('./commands/keys') as typeof import('./commands/keys');
      await runKeys(args);
    },
  },
  'test-persona': {
    summary: 'Talk to a persona in the terminal, against the running stack',
    usage: [
      'smart-steps test-persona --persona ID [--url URL] [--username U] [--password P | --api-key KEY] [--duration MINUTES]',
      "(password: --password, else SMARTSTEPS_PASSWORD, else the dev stack's admin password file, else asked for at a terminal;",
      ' SMARTSTEPS_API_KEY works like --api-key; /end, Ctrl-D or Ctrl-C ends the session and shows its summary)',
    ].join('\n       '),
    run: async (args) => {
      const { runTestPersona } =
        require('./commands/test-persona') as typeof import('./commands/test-persona');
      await runTestPersona(args);
    },
  },
  'generate-test-data': {
    summary: 'Fill the running stack with realistic clients and completed sessions',
    usage: [
      'smart-steps generate-test-data [--clients 50] [--sessions 200] [--turns 4-8] [--concurrency 4] [--seed S]',
      '       [--personas ID,ID] [--reply-timeout SECONDS] [--json] [--url URL] [--username U] [--password P | --api-key KEY]',
      '(credentials as for test-persona; progress on stderr, the summary on stdout; exit 1 when anything failed, 130 when interrupted;',
      ' Ctrl-C lets sessions in flight end, a second Ctrl-C cancels them)',
    ].join('\n       '),
    run: async (args) => {
      const { runGenerateTestData } =
        require('./commands/generate-test-data') as typeof import('./commands/generate-test-data');
      await runGenerateTestData(args);
    },
  },
  provision: {
    summary: 'Build or locate the Temporal, NATS and FerretDB binaries for the dev stack',
    usage: 'smart-steps provision [--config PATH]',
    run: () => {
      require('../scripts/provision');
    },
  },
};

export class UsageError extends Error {}

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(
    ([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`,
  );
  return [
    `smart-steps ${VERSION}`,
    '',
    'Usage: smart-steps <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Every command accepts --config PATH (or SMARTSTEPS_CONFIG) and --help.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help() + '\n');
    return;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(VERSION + '\n');
    return;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`smart-steps: unknown command '${name}'\n\n${help()}\n`);
    process.exitCode = 2;
    return;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return;
  }
  try {
    await command.run(args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`smart-steps ${name}: ${err.message}\nUsage: ${command.usage}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`smart-steps ${name}: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
