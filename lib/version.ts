import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The package version, read once; shown by health and the CLI. Works from source and from dist/. */
function readVersion(): string {
  for (const up of ['..', path.join('..', '..')]) {
    const file = path.join(__dirname, up, 'package.json');
    if (existsSync(file))
      return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return '0.0.0';
}

export const VERSION = readVersion();
