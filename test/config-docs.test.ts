import { readFileSync } from 'node:fs';
import { CONFIG_DOCS_PATH, renderConfigDocs } from '../scripts/gen-config-docs';

describe('configuration reference', () => {
  it('documents every key the config schema accepts (regenerate with npm run docs:config)', () => {
    expect(readFileSync(CONFIG_DOCS_PATH, 'utf8')).toBe(renderConfigDocs());
  });
});
