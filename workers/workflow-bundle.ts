/**
 * The session workflows' bundle, built by webpack in a child process. Built in the worker
 * itself, webpack leaves about 100 MB that the process keeps for its whole life (measured: RSS
 * 133 → 233 MB, still 233 after a full GC); a session worker holding thousands of waiting
 * sessions has better use for it. The child runs with this process's Node flags (the TypeScript
 * loader in development) and hands the code back through a file.
 *
 * Run directly, it is that child: `workflow-bundle <output file>`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';

export async function buildWorkflowBundleApart(): Promise<{ code: string }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'smartsteps-bundle-'));
  const out = path.join(dir, 'workflows.js');
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [...process.execArgv, __filename, out], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        code === 0
          ? resolve()
          : reject(new Error(`building the workflow bundle failed (${code ?? signal}): ${stderr}`)),
      );
    });
    return { code: readFileSync(out, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(out: string): Promise<void> {
  const quiet = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../workflows'),
    logger: {
      log: quiet,
      trace: quiet,
      debug: quiet,
      info: quiet,
      warn: quiet,
      error: (message) => process.stderr.write(`${message}\n`),
    },
  });
  writeFileSync(out, code);
}

if (require.main === module) {
  main(process.argv[2]!).catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
