/**
 * Serving HTTPS directly (deployments without a proxy): the server takes a PEM certificate and
 * key from the config, refuses TLS older than configured, and sends HSTS over HTTPS.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { start as startApi, type ApiServer } from '../api/server';
import { quietLogger, testConfig } from './helpers/stack';

function get(url: string, ca: Buffer, opts: https.RequestOptions = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      https
        .get(url, { ca, ...opts }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        })
        .on('error', reject);
    },
  );
}

describe('TLS', () => {
  let api: ApiServer;
  let cert: Buffer;

  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'smartsteps-tls-'));
    const [certFile, keyFile] = [path.join(dir, 'cert.pem'), path.join(dir, 'key.pem')];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(certFile);
    api = await startApi(
      testConfig({ 'server.tls.cert_file': certFile, 'server.tls.key_file': keyFile }),
      quietLogger,
    );
  });
  afterAll(async () => api?.stop());

  it('serves HTTPS with the configured certificate, and HSTS', async () => {
    expect(api.url).toMatch(/^https:\/\//);
    const res = await get(`${api.url}/api/health`, cert);
    expect(res.status).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
  });

  it('refuses TLS 1.2, as configured by default', async () => {
    const { port } = new URL(api.url);
    const refused = await new Promise<Error | undefined>((resolve) => {
      const socket = tls.connect(
        { host: '127.0.0.1', port: Number(port), ca: cert, maxVersion: 'TLSv1.2' },
        () => {
          socket.end();
          resolve(undefined);
        },
      );
      socket.on('error', (err) => resolve(err));
    });
    // Node's errors come from outside Jest's realm, so the message is what is checked.
    expect(refused?.message).toMatch(/version|protocol/i);
  });

  it('refuses a certificate without its key in the config', () => {
    expect(() => testConfig({ 'server.tls.cert_file': '/tmp/only-a-cert.pem' })).toThrow(
      /server\.tls: cert_file and key_file go together/,
    );
  });
});
