/**
 * `npm run docs:config`: rewrites the table of environment variables in README.md from the
 * options schemas, where each variable is declared beside the option it sets.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { withConfigTable } from './config-table.js';

const readme = readFileSync('README.md', 'utf8');
const updated = withConfigTable(readme);
writeFileSync('README.md', updated);
console.log(
  updated === readme
    ? 'README.md: the table of variables was up to date'
    : 'README.md: table of variables rewritten',
);
