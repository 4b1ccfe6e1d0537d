/** `npm run provision`: build or locate the Temporal, NATS and FerretDB binaries, and print where they are. */
import { loadConfigOrExit } from '../lib/config';
import { provisionAll } from './stack/binaries';

const config = loadConfigOrExit();
provisionAll({
  cacheDir: config.dev_stack.bin_cache,
  progress: (l) => console.log(`[provision] ${l}`),
}).then(
  (bins) => {
    for (const [name, file] of Object.entries(bins)) console.log(`${name.padEnd(12)} ${file}`);
  },
  (err: unknown) => {
    console.error(`[provision] ${(err as Error).message}`);
    process.exit(1);
  },
);
