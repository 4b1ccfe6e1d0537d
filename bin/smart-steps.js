#!/usr/bin/env node
// The `smart-steps` command: runs the compiled CLI when `npm run build` has produced it,
// otherwise the TypeScript source through tsx, so it works straight from a clone.
const path = require('node:path');
const fs = require('node:fs');

const compiled = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
if (fs.existsSync(compiled)) {
  require(compiled).main(process.argv.slice(2));
} else {
  require('tsx/cjs/api').register();
  require('../cli/index.ts').main(process.argv.slice(2));
}
