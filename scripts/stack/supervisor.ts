/**
 * Child processes of the dev stack and the test harness: output prefixed by process name (or
 * sent to a log file), and a stop that asks politely (SIGTERM) before it insists (SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface ManagedProcess {
  name: string;
  pid: number;
  command: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process has exited. */
  exited: Promise<number | string>;
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Write output to this file instead of the terminal. */
  logFile?: string;
  /** Colour index for the prefix. */
  color?: number;
  /**
   * Own process group: a terminal's Ctrl-C then reaches only the supervisor, which stops the
   * children in order instead of all of them dying at once.
   */
  detached?: boolean;
}

const COLORS = [36, 33, 35, 32, 34, 31];
const useColor = process.stdout.isTTY === true;

export function prefixFor(name: string, color = 0): string {
  const label = `[${name}]`.padEnd(12);
  return useColor ? `\u001b[${COLORS[color % COLORS.length]}m${label}\u001b[0m ` : `${label} `;
}

export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: SpawnOptions = {},
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached ?? false,
  });
  if (child.pid === undefined) {
    throw new Error(`could not start ${name} (${command})`);
  }

  let file: WriteStream | undefined;
  if (opts.logFile) {
    file = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout.pipe(file, { end: false });
    child.stderr.pipe(file, { end: false });
  } else {
    const prefix = prefixFor(name, opts.color);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) =>
        process.stdout.write(prefix + line + '\n'),
      );
    }
  }

  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      file?.end();
      resolve(code ?? signal ?? 'unknown');
    });
  });

  const stop = async (timeoutMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  return { name, pid: child.pid, command, child, exited, stop };
}

/** Polls `check` until it resolves, the process exits, or the deadline passes. */
export async function waitUntilReady(
  proc: ManagedProcess,
  check: () => Promise<unknown>,
  timeoutMs: number,
  describeLog?: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | string | undefined;
  void proc.exited.then((code) => (exitedWith = code));
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (exitedWith !== undefined) {
      throw new Error(
        `${proc.name} exited (${exitedWith}) before it was ready${describeLog ? `; see ${describeLog}` : ''}`,
      );
    }
    try {
      await check();
      return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `${proc.name} not ready after ${Math.round(timeoutMs / 1000)} s: ${(lastError as Error)?.message ?? 'no answer'}` +
      (describeLog ? `; see ${describeLog}` : ''),
  );
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
