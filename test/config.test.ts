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
      overrides: {
        'security.rate_limiting.default_limit': '42/hour',
        'auth.jwt_secret': 'x'.repeat(40),
      },
    });
    const again = loadConfig({ argv: [], env: {}, file: yamlFile(JSON.stringify(config)) });
    expect(again).toEqual(config);
    expect(again.security.rate_limiting.default_limit).toEqual({
      limit: 42,
      window_ms: 3_600_000,
      text: '42/hour',
    });
  });

  it("reads the spec's security examples as written", () => {
    // Verbatim from the technical reference ("API Key Management", "Rate Limiting").
    const file = yamlFile(`
security:
  api_keys:
    prefix: "sk_ss_"
    length: 32
    expiration:
      enabled: true
      days: 90
    rate_limiting:
      enabled: true
      rate: "1000/minute"
  rate_limiting:
    enabled: true
    default_limit: "100/minute"
    per_endpoint:
      "/api/v1/auth/login": "20/minute"
      "/api/v1/auth/password/reset": "10/hour"
    per_user:
      default: "1000/hour"
      admin: "5000/hour"
    ip_whitelist: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
`);
    const { security } = loadConfig({ argv: [], env: {}, file });
    expect(security.api_keys.rate_limiting.rate).toMatchObject({ limit: 1000, window_ms: 60_000 });
    expect(security.rate_limiting.default_limit).toMatchObject({ limit: 100, window_ms: 60_000 });
    expect(security.rate_limiting.per_endpoint['/api/v1/auth/password/reset']).toMatchObject({
      limit: 10,
      window_ms: 3_600_000,
    });
    expect(security.rate_limiting.per_user.admin.limit).toBe(5000);
    expect(security.rate_limiting.ip_whitelist).toHaveLength(3);
    expect(() =>
      loadConfig({ argv: [], env: { SMARTSTEPS_SECURITY__RATE_LIMITING__DEFAULT_LIMIT: 'lots' } }),
    ).toThrow(/security\.rate_limiting\.default_limit: expected a rate like "1000\/minute"/);
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
