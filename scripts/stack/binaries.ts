/**
 * Provisioning of the three real servers the stack and the tests run: the Temporal CLI dev
 * server, nats-server and FerretDB (SQLite backend). Each is built once from the Go module
 * proxy at a pinned version and cached outside the checkout, keyed by version, so every clone
 * on the machine reuses it. A binary already on PATH is used when its version fits.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
} from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { runtimeEnv } from '../../lib/config';

export type BinaryName = 'temporal' | 'nats-server' | 'ferretdb';

interface BinarySpec {
  version: string;
  /** Executable names to look for on PATH, and the name it gets in the cache. */
  executables: string[];
  /** Matches the `--version` output of a binary whose version fits. */
  fits: RegExp;
  build: { kind: 'install'; module: string } | { kind: 'local'; dir: string; tags: string };
}

const FERRETDB_WRAPPER = path.resolve(__dirname, '..', 'ferretdb');

export const BINARIES: Record<BinaryName, BinarySpec> = {
  temporal: {
    version: '1.5.1',
    executables: ['temporal'],
    // A `go install` build reports CLI version 0.0.0-DEV; the bundled server version is what matters.
    fits: /Server 1\.29\.1\b/,
    build: { kind: 'install', module: 'github.com/temporalio/cli/cmd/temporal' },
  },
  'nats-server': {
    version: '2.15.2',
    executables: ['nats-server'],
    fits: /\bv2\.15\.2\b/,
    build: { kind: 'install', module: 'github.com/nats-io/nats-server/v2' },
  },
  ferretdb: {
    version: '1.24.2',
    executables: ['ferretdb-sqlite', 'ferretdb'],
    fits: /\bv1\.24\.2\b/,
    // A plain `go install` of FerretDB's cmd panics at start (its version.txt is generated at
    // release time and is missing from the module zip); our small main embeds the library instead.
    build: { kind: 'local', dir: FERRETDB_WRAPPER, tags: 'ferretdb_no_postgresql' },
  },
};

export type Progress = (line: string) => void;

export interface ProvisionOptions {
  cacheDir: string;
  progress?: Progress;
  /** Skip the PATH lookup (tests of provisioning itself). */
  ignorePath?: boolean;
}

export type Binaries = Record<BinaryName, string>;

/** Returns the path of each server binary, building the missing ones (in parallel). */
export async function provisionAll(opts: ProvisionOptions): Promise<Binaries> {
  const names = Object.keys(BINARIES) as BinaryName[];
  const paths = await Promise.all(names.map((name) => provision(name, opts)));
  return Object.fromEntries(names.map((n, i) => [n, paths[i]!])) as Binaries;
}

export async function provision(name: BinaryName, opts: ProvisionOptions): Promise<string> {
  const spec = BINARIES[name];
  const say = opts.progress ?? (() => undefined);

  if (!opts.ignorePath) {
    const onPath = findOnPath(spec);
    if (onPath) return onPath;
  }

  const dir = path.join(opts.cacheDir, cacheKey(name, spec));
  const target = path.join(dir, spec.executables[0]!);
  if (existsSync(target) && versionFits(target, spec)) return target;

  const go = runtimeEnv.goBinary();
  if (spawnSync(go, ['version']).status !== 0) {
    throw new Error(
      `${name} ${spec.version} is not provisioned and Go was not found to build it. ` +
        `Install Go >= 1.25, or put a ${spec.executables[0]} ${spec.version} binary on PATH.`,
    );
  }

  say(
    `${name} ${spec.version}: first-time build from the Go module proxy (a few minutes; cached in ${dir})`,
  );
  mkdirSync(opts.cacheDir, { recursive: true });
  // Build into a private folder and rename: concurrent provisioners never see half a binary.
  const staging = mkdtempSync(path.join(opts.cacheDir, `.build-${name}-`));
  try {
    await goBuild(go, name, spec, staging, say);
    const built = path.join(staging, spec.executables[0]!);
    if (!versionFits(built, spec))
      throw new Error(`${name}: the built binary does not report version ${spec.version}`);
    mkdirSync(dir, { recursive: true });
    renameSync(built, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  say(`${name} ${spec.version}: ready`);
  return target;
}

function cacheKey(name: BinaryName, spec: BinarySpec): string {
  if (spec.build.kind === 'install') return `${name}-${spec.version}`;
  // The wrapper's own source is part of the key, so a change to it rebuilds.
  const hash = createHash('sha256');
  const sources = readdirSync(spec.build.dir)
    .filter((f) => f.endsWith('.go'))
    .sort();
  for (const file of [...sources, 'go.mod', 'go.sum']) {
    hash.update(`${file}\n`);
    hash.update(readFileSync(path.join(spec.build.dir, file)));
  }
  return `${name}-${spec.version}-${hash.digest('hex').slice(0, 10)}`;
}

function findOnPath(spec: BinarySpec): string | undefined {
  for (const exe of spec.executables) {
    for (const dir of runtimeEnv.pathDirs()) {
      const candidate = path.join(dir, exe);
      if (existsSync(candidate) && versionFits(candidate, spec)) return candidate;
    }
  }
  return undefined;
}

function versionFits(file: string, spec: BinarySpec): boolean {
  const out = spawnSync(file, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  return out.status === 0 && spec.fits.test(`${out.stdout}${out.stderr}`);
}

async function goBuild(
  go: string,
  name: string,
  spec: BinarySpec,
  outDir: string,
  say: Progress,
): Promise<void> {
  const args =
    spec.build.kind === 'install'
      ? ['install', '-v', `${spec.build.module}@v${spec.version}`]
      : [
          'build',
          '-v',
          '-tags',
          spec.build.tags,
          '-o',
          path.join(outDir, spec.executables[0]!),
          '.',
        ];
  const cwd = spec.build.kind === 'local' ? spec.build.dir : outDir;
  const env = { ...process.env, GOBIN: outDir };

  const started = Date.now();
  let downloads = 0;
  let packages = 0;
  const tail: string[] = [];
  const child = spawn(go, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (line.startsWith('go: downloading')) downloads++;
    else packages++;
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  const ticker = setInterval(() => {
    const secs = Math.round((Date.now() - started) / 1000);
    say(
      `${name}: building… ${downloads} modules downloaded, ${packages} packages compiled, ${secs}s`,
    );
  }, 15_000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).finally(() => clearInterval(ticker));
  if (code !== 0) {
    throw new Error(
      `building ${name} failed (go ${args.join(' ')} exited ${code}):\n${tail.join('\n')}`,
    );
  }
  say(`${name}: built in ${Math.round((Date.now() - started) / 1000)}s`);
}
