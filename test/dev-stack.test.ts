import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { freePorts } from '../scripts/stack/ports';
import { harnessState } from './helpers/harness-state';
import { waitFor } from './helpers/stack';
import { isAlive } from '../scripts/stack/supervisor';

const ROOT = path.resolve(__dirname, '..');

describe('npm start (the dev stack)', () => {
  it('brings up every service with a healthy API and the Temporal UI, and Ctrl-C leaves no process behind', async () => {
    const [temporal, http, metrics, ui, nats, monitor, mongo, api] = await freePorts(8);
    const dataDir = mkdtempSync(path.join(harnessState().dir, 'dev-stack-'));
    const configFile = path.join(dataDir, 'config.yaml');
    writeFileSync(
      configFile,
      [
        `server: { port: ${api} }`,
        `temporal: { address: "127.0.0.1:${temporal}" }`,
        `nats: { servers: ["nats://127.0.0.1:${nats}"] }`,
        `storage: { connection: { uri: "mongodb://127.0.0.1:${mongo}/smartsteps" } }`,
        'dev_stack:',
        `  data_dir: ${JSON.stringify(dataDir)}`,
        `  bin_cache: ${JSON.stringify(harnessState().binCache)}`,
        `  temporal_ui_port: ${ui}`,
        `  temporal_http_port: ${http}`,
        `  temporal_metrics_port: ${metrics}`,
        `  nats_monitor_port: ${monitor}`,
      ].join('\n'),
    );

    let output = '';
    const stack = spawn(
      process.execPath,
      ['--import', 'tsx', 'scripts/dev-stack.ts', '--config', configFile],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    stack.stdout.on('data', (d: Buffer) => (output += d.toString()));
    stack.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) =>
      stack.once('exit', (code) => resolve(code)),
    );

    try {
      await waitFor(
        'the stack to say it is ready',
        () => output.includes('Ctrl-C stops everything'),
        120_000,
      );
      const health = await fetch(`http://127.0.0.1:${api}/api/health`);
      expect(health.status).toBe(200);
      const uiPage = await fetch(`http://127.0.0.1:${ui}/`);
      expect(uiPage.status).toBe(200);
      // The UI is pointed at the API's payload codec, which answers that UI's browser origin.
      const settings = (await (await fetch(`http://127.0.0.1:${ui}/api/v1/settings`)).json()) as {
        Codec?: { Endpoint?: string };
      };
      expect(settings.Codec?.Endpoint).toBe(`http://127.0.0.1:${api}/codec`);
      const preflight = await fetch(`http://127.0.0.1:${api}/codec/decode`, {
        method: 'OPTIONS',
        headers: { Origin: `http://127.0.0.1:${ui}`, 'Access-Control-Request-Method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBe(`http://127.0.0.1:${ui}`);
      await waitFor(
        'the session worker to poll',
        () =>
          output.includes('sessions worker polling') && output.includes('personas worker polling'),
        60_000,
      );
      // Each process's output is prefixed with its name.
      for (const name of ['stack', 'nats', 'temporal', 'api', 'worker', 'personas', 'webhooks']) {
        expect(output).toContain(`[${name}]`);
      }

      const processes = JSON.parse(
        readFileSync(path.join(dataDir, 'stack.pids.json'), 'utf8'),
      ) as Array<{ pid: number; name: string }>;
      // Three servers, the API and three workers (sessions, personas, webhooks).
      expect(processes.map((p) => p.name).sort()).toEqual(EXPECTED_PROCESSES);
      const pids = processes.map((p) => p.pid);
      expect(pids.every(isAlive)).toBe(true);

      stack.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      // A failed run must not leave the stack's children (own process groups) behind.
      if (stack.exitCode === null) {
        stack.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000).unref())]);
      }
      if (stack.exitCode === null) stack.kill('SIGKILL');
      const pidFile = path.join(dataDir, 'stack.pids.json');
      if (existsSync(pidFile)) {
        for (const { pid } of JSON.parse(readFileSync(pidFile, 'utf8')) as Array<{ pid: number }>) {
          if (isAlive(pid)) process.kill(pid, 'SIGKILL');
        }
      }
    }
  }, 180_000);
});

const EXPECTED_PROCESSES = [
  'api',
  'ferretdb',
  'nats',
  'personas',
  'temporal',
  'webhooks',
  'worker',
];
