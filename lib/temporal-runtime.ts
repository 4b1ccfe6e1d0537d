import * as net from 'node:net';
import { DefaultLogger, Runtime, type LogLevel, type RuntimeOptions } from '@temporalio/worker';
import type { Logger } from './log';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/** The Temporal SDK's own metrics, as its exporter serves them. */
export interface TemporalSdkMetrics {
  url: string;
  /** The exporter's text, or '' when it does not answer (a scrape still gets ours). */
  read: () => Promise<string>;
}

let installing: Promise<TemporalSdkMetrics | undefined> | undefined;

/**
 * Routes the Temporal SDK's own logs (worker state, workflow and activity logs) into our JSON
 * logger and, with `metrics`, has it export its metrics (`temporal_…`) on a loopback port for the
 * worker's `/metrics` to pass on: one scrape target per process, and nothing more listening
 * beyond the host. The runtime is process-wide and installed once, before the first worker;
 * later calls get what the first one installed.
 */
export function installTemporalRuntime(
  log: Logger,
  opts: { metrics?: boolean } = {},
): Promise<TemporalSdkMetrics | undefined> {
  return (installing ??= install(log, opts.metrics ?? false));
}

async function install(log: Logger, metrics: boolean): Promise<TemporalSdkMetrics | undefined> {
  const level: LogLevel = log.isLevelEnabled('debug')
    ? 'DEBUG'
    : log.isLevelEnabled('info')
      ? 'INFO'
      : 'WARN';
  const sdkLog = log.child({ component: 'temporal-sdk' });
  const options: RuntimeOptions = {
    logger: new DefaultLogger(level, (entry) => {
      sdkLog[PINO_LEVEL[entry.level]]({ ...entry.meta }, entry.message);
    }),
  };
  // The port is picked before the SDK binds it, so another process may take it in between:
  // a few tries, then the worker runs without SDK metrics rather than not at all.
  for (let attempt = 1; metrics && attempt <= 3; attempt++) {
    const port = await freeLoopbackPort();
    try {
      Runtime.install({
        ...options,
        telemetryOptions: { metrics: { prometheus: { bindAddress: `127.0.0.1:${port}` } } },
      });
      return sdkExporter(`http://127.0.0.1:${port}/metrics`, log);
    } catch (err) {
      log.warn({ err, port }, 'Temporal SDK metrics exporter could not bind');
    }
  }
  Runtime.install(options);
  return undefined;
}

function sdkExporter(url: string, log: Logger): TemporalSdkMetrics {
  let failing = false;
  return {
    url,
    read: async () => {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const text = await res.text();
        failing = false;
        return text;
      } catch (err) {
        // Once per outage, not once per scrape.
        if (!failing) log.warn({ err }, 'Temporal SDK metrics unavailable');
        failing = true;
        return '';
      }
    },
  };
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
