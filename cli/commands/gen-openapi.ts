import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describeApi } from '../../api/routes';
import { UsageError } from '../index';

/** Writes the OpenAPI 3.1 document the server serves at /api/v1/openapi.json; no services needed. */
export function runGenOpenApi(args: string[]): void {
  const i = args.indexOf('--output');
  const output = i >= 0 ? args[i + 1] : undefined;
  if (i >= 0 && (!output || output.startsWith('--'))) throw new UsageError('--output needs a path');
  const json = JSON.stringify(describeApi(), null, 2) + '\n';
  if (!output) {
    process.stdout.write(json);
    return;
  }
  mkdirSync(path.dirname(path.resolve(output)), { recursive: true });
  writeFileSync(output, json);
  process.stdout.write(`wrote ${output}\n`);
}
