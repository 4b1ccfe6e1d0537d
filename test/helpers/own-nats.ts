/**
 * A NATS server of one test file's own, for tests that must see only their own events (the
 * harness's server is shared by every test file running at the same time) or that stop it.
 */
import * as path from 'node:path';
import { startProcess, waitUntilReady, type ManagedProcess } from '../../scripts/stack/supervisor';
import { freePorts } from '../../scripts/stack/ports';
import { harnessState } from './harness-state';

export interface OwnNats {
  url: string;
  /** Starts it again after `stop()`, on the same port and store. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnNats(name: string): Promise<OwnNats> {
  const [port, monitor] = await freePorts(2);
  const args = [
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-js',
    '-sd',
    path.join(harnessState().dir, name),
    '-m',
    String(monitor),
  ];
  let proc: ManagedProcess;
  const start = async () => {
    proc = startProcess(name, harnessState().bins['nats-server'], args, {
      logFile: path.join(harnessState().dir, 'logs', `${name}.log`),
    });
    await waitUntilReady(
      proc,
      () =>
        fetch(`http://127.0.0.1:${monitor}/healthz`).then(
          (r) => r.ok || Promise.reject(new Error('not ready')),
        ),
      20_000,
    );
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    restart: start,
    stop: () => proc.stop(),
  };
}
