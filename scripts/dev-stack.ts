/**
 * `npm start`: the whole stack in one command on the embedded defaults. Provisions the server
 * binaries (first time only), starts Temporal (with the Web UI), NATS with JetStream and FerretDB
 * with their data under `dev_stack.data_dir`, then the API, one session worker, one persona worker
 * and one webhook dispatcher. Output is prefixed by process. Ctrl-C or SIGTERM stops everything, apps first, servers last.
 *
 * A service whose configured address is not on this machine is assumed to be run elsewhere and
 * is not started.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { DEV_TEMPORAL_UI_ORIGINS, loadConfigOrExit, type Config } from '../lib/config';
import { metricsPort } from '../lib/metrics';
import { provisionAll } from './stack/binaries';
import { startServices, type ServicePorts } from './stack/services';
import { startProcess, prefixFor, type ManagedProcess } from './stack/supervisor';
import { appProcessEnv } from './stack/app-env';
import { hostPort, isLoopback, isPortFree } from './stack/ports';
import { prepareAuth, type AuthSetup } from './stack/auth-setup';

const ROOT = path.resolve(__dirname, '..');
const say = (line: string) => process.stdout.write(`${prefixFor('stack', 5)}${line}\n`);

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const dataDir = path.resolve(ROOT, config.dev_stack.data_dir);
  mkdirSync(dataDir, { recursive: true });
  const pidFile = path.join(dataDir, 'stack.pids.json');
  killLeftovers(pidFile);

  const temporal = hostPort(config.temporal.address, 7233);
  const nats = hostPort(config.nats.servers[0]!, 4222);
  const mongo = hostPort(config.storage.connection.uri, 27017);
  const only = (
    [
      ['temporal', temporal.host],
      ['nats', nats.host],
      ['mongo', mongo.host],
    ] as const
  )
    .filter(([, host]) => isLoopback(host))
    .map(([name]) => name);

  const ports: ServicePorts = {
    temporal: temporal.port,
    temporalHttp: config.dev_stack.temporal_http_port,
    temporalUi: config.dev_stack.temporal_ui_port,
    temporalMetrics: config.dev_stack.temporal_metrics_port,
    nats: nats.port,
    natsMonitor: config.dev_stack.nats_monitor_port,
    mongo: mongo.port,
  };
  await assertPortsFree(only, ports, config.server.port);

  say(`provisioning server binaries (cache: ${config.dev_stack.bin_cache})`);
  const bins = await provisionAll({ cacheDir: config.dev_stack.bin_cache, progress: say });

  say(`starting ${only.join(', ')} (data in ${path.relative(process.cwd(), dataDir) || '.'})`);
  const codecEndpoint = `${browserApiOrigin(config)}/codec`;
  const services = await startServices({
    bins,
    dataDir,
    ports,
    only,
    detached: true,
    uiCodecEndpoint: codecEndpoint,
  });
  const apps: ManagedProcess[] = [];
  const record = () =>
    writeFileSync(
      pidFile,
      JSON.stringify(
        [...services.processes, ...apps].map((p) => ({
          pid: p.pid,
          name: p.name,
          command: p.command,
        })),
      ),
    );
  record();

  let shuttingDown = false;
  const shutdown = async (reason: string, code: number) => {
    if (shuttingDown) return;
    shuttingDown = true;
    say(`${reason}: stopping…`);
    await Promise.allSettled(apps.map((p) => p.stop(15_000)));
    await services.stop();
    rmSync(pidFile, { force: true });
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown('SIGINT', 0));
  process.on('SIGTERM', () => void shutdown('SIGTERM', 0));
  for (const p of services.processes) {
    void p.exited.then((c) => shutdown(`${p.name} exited (${c})`, 1));
  }

  // `db init`, the JWT secret and a first admin, so a fresh checkout can log in.
  let auth: AuthSetup;
  try {
    auth = await prepareAuth(config, dataDir, say);
  } catch (err) {
    await shutdown(`preparing the database failed: ${(err as Error).message}`, 1);
    return;
  }

  // The apps run as their own Node processes, exactly as they would in production.
  const forwarded = process.argv.slice(2);
  const node = (name: string, file: string, color: number, env?: Record<string, string>) =>
    startProcess(name, process.execPath, ['--import', 'tsx', path.join(ROOT, file), ...forwarded], {
      color,
      cwd: ROOT,
      detached: true,
      env: { ...process.env, ...appProcessEnv(), ...env },
    });
  apps.push(
    node('api', 'api/server.ts', 3, { ...auth.env, ...codecCorsEnv(config, ports.temporalUi) }),
    node('worker', 'workers/session-worker.ts', 4),
    node('personas', 'workers/persona-worker.ts', 5),
    node('webhooks', 'workers/webhook-dispatcher.ts', 6),
  );
  record();
  for (const p of apps) {
    void p.exited.then((c) => shutdown(`${p.name} exited (${c})`, 1));
  }

  const apiUrl = `http://${config.server.host}:${config.server.port}`;
  await waitForHealth(`${apiUrl}/api/health`);
  say('ready:');
  say(`  API            ${apiUrl}/api/v1   (health: ${apiUrl}/api/health)`);
  if (only.includes('temporal')) {
    say(`  Temporal UI    http://${temporal.host}:${ports.temporalUi}`);
    say(`  Payload codec  ${codecEndpoint}   (see README: reading payloads in the Temporal UI)`);
  }
  say(`  Temporal gRPC  ${config.temporal.address}`);
  say(`  NATS           ${config.nats.servers.join(', ')}`);
  say(`  MongoDB        ${config.storage.connection.uri}`);
  for (const proc of ['api', 'sessions', 'personas', 'webhooks'] as const) {
    const port = metricsPort(config, proc);
    if (port) say(`  Metrics        http://${config.metrics.host}:${port}/metrics   (${proc})`);
  }
  say('Ctrl-C stops everything.');
}

/** Where a browser on this machine reaches the API (a wildcard listen address is not one). */
function browserApiOrigin(config: Config): string {
  const { host, port, tls } = config.server;
  const scheme = tls.cert_file ? 'https' : 'http';
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `${scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * The codec answers browsers only from `temporal.codec.cors_origins`, whose default is the UI on
 * its default port; a UI moved to another port keeps working without a second setting.
 */
function codecCorsEnv(config: Config, uiPort: number): Record<string, string> {
  const ui = [`http://127.0.0.1:${uiPort}`, `http://localhost:${uiPort}`];
  const origins = config.temporal.codec.cors_origins;
  const isDefault = origins.join() === DEV_TEMPORAL_UI_ORIGINS.join();
  if (!isDefault || ui.every((o) => origins.includes(o))) return {};
  return { SMARTSTEPS_TEMPORAL__CODEC__CORS_ORIGINS: ui.join(',') };
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  say(`warning: ${url} did not answer 200 within 120 s`);
}

async function assertPortsFree(
  only: readonly string[],
  ports: ServicePorts,
  apiPort: number,
): Promise<void> {
  const wanted: Array<[string, number]> = [['api', apiPort]];
  if (only.includes('temporal'))
    wanted.push(['temporal', ports.temporal], ['temporal ui', ports.temporalUi]);
  if (only.includes('nats')) wanted.push(['nats', ports.nats], ['nats monitor', ports.natsMonitor]);
  if (only.includes('mongo')) wanted.push(['ferretdb', ports.mongo]);
  for (const [name, port] of wanted) {
    if (!(await isPortFree(port))) {
      say(
        `port ${port} (${name}) is already in use: is another stack running? Stop it or change the port in the config.`,
      );
      process.exit(1);
    }
  }
}

/** A stack killed with SIGKILL leaves its children running; stop those before starting again. */
function killLeftovers(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  try {
    const entries = JSON.parse(readFileSync(pidFile, 'utf8')) as Array<{
      pid: number;
      name: string;
      command: string;
    }>;
    for (const { pid, name, command } of entries) {
      // A pid may have been reused since: only stop a process still running our command.
      if (!readCmdline(pid).startsWith(command)) continue;
      try {
        process.kill(pid, 'SIGTERM');
        say(`stopped ${name} (pid ${pid}) left over from an earlier run`);
      } catch {
        // already gone
      }
    }
  } catch {
    // unreadable: nothing to clean
  }
  rmSync(pidFile, { force: true });
}

function readCmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

main().catch((err: unknown) => {
  say(`failed: ${(err as Error).message}`);
  process.exit(1);
});
