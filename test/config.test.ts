import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig } from '../lib/config';

const ROOT = path.resolve(__dirname, '..');

function yamlFile(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smartsteps-config-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, text);
  return file;
}

describe('configuration', () => {
  it('runs on the documented defaults with no file and no environment', () => {
    const config = loadConfig({ argv: [], env: {} });
    expect(config.server.port).toBe(8543);
    expect(config.temporal.address).toBe('127.0.0.1:7233');
    expect(config.temporal.namespace).toBe('default');
    expect(config.nats.servers).toEqual(['nats://127.0.0.1:4222']);
    expect(config.nats.stream).toBe('SS_EVENTS');
    expect(config.storage.connection.uri).toBe('mongodb://127.0.0.1:27017/smartsteps');
    expect(config.dev_stack.data_dir).toBe('.data');
  });

  it('reloads a loaded configuration written back out, as processes hand it to their children', () => {
    const config = loadConfig({
      argv: [],
      env: {},
      overrides: { 'security.rate_limiting.per_ip': '42/hour', 'auth.jwt_secret': 'x'.repeat(40) },
    });
    const again = loadConfig({ argv: [], env: {}, file: yamlFile(JSON.stringify(config)) });
    expect(again).toEqual(config);
    expect(again.security.rate_limiting.per_ip).toEqual({
      limit: 42,
      window_ms: 3_600_000,
      text: '42/hour',
    });
  });

  it('reads a YAML file given with --config, and environment variables override it', () => {
    const file = yamlFile('server:\n  port: 9100\nnats:\n  servers: [nats://10.0.0.1:4222]\n');
    const config = loadConfig({
      argv: ['node', 'server', '--config', file],
      env: {
        SMARTSTEPS_NATS__SERVERS: 'nats://a:4222,nats://b:4222',
        SMARTSTEPS_LOGGING__LEVEL: 'debug',
      },
    });
    expect(config.server.port).toBe(9100);
    expect(config.nats.servers).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(config.logging.level).toBe('debug');
  });

  it('takes the file from SMARTSTEPS_CONFIG when no --config is given', () => {
    const file = yamlFile('temporal:\n  namespace: therapy\n');
    expect(loadConfig({ argv: [], env: { SMARTSTEPS_CONFIG: file } }).temporal.namespace).toBe(
      'therapy',
    );
  });

  it('names the key, the problem and the source of an invalid value in one line', () => {
    const fromEnv = () => loadConfig({ argv: [], env: { SMARTSTEPS_SERVER__PORT: '99999' } });
    expect(fromEnv).toThrow(ConfigError);
    expect(fromEnv).toThrow(
      /^invalid configuration: server\.port: .*65535.* \(from SMARTSTEPS_SERVER__PORT\)$/,
    );

    const file = yamlFile('storage:\n  connection:\n    uri: postgres://admin:hunter2@db\n');
    expect(() => loadConfig({ argv: [], env: {}, file })).toThrow(
      `invalid configuration: storage.connection.uri: must start with mongodb:// or mongodb+srv:// (in ${file})`,
    );
  });

  it('rejects a misspelt key instead of silently keeping the default', () => {
    const file = yamlFile('server:\n  prot: 9000\n');
    expect(() => loadConfig({ argv: [], env: {}, file })).toThrow(
      `invalid configuration: server.prot: unknown key (in ${file})`,
    );
  });

  it('says which file is not valid YAML', () => {
    const file = yamlFile('server: [unclosed\n');
    expect(() => loadConfig({ argv: [], env: {}, file })).toThrow(
      new RegExp(`^config file ${file} is not valid YAML`),
    );
  });

  it('stops a process started with an invalid value with one clear line and exit code 2', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'api/server.ts')],
      {
        cwd: ROOT,
        env: { ...process.env, SMARTSTEPS_SERVER__PORT: 'eighty' },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^smart-steps: invalid configuration: server\.port: .*\(from SMARTSTEPS_SERVER__PORT\)$/,
    );
  });
});
