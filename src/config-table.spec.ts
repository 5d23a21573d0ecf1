import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { configTable, withConfigTable } from './config-table.js';

describe('the README table of variables', () => {
  it('is the one the options schemas make (run `npm run docs:config` after changing them)', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toBe(withConfigTable(readme));
  });

  it('has a row for every variable the app reads', () => {
    const variables = [...configTable().matchAll(/^\| `(\w+)`/gm)].map(
      ([, name]) => name,
    );
    expect(variables).toEqual(
      expect.arrayContaining([
        'PORT',
        'TRUST_PROXY',
        'NODE_ENV',
        'SESSION_TYPE',
        'SESSION_SECRET',
        'SESSION_KEY_PREFIX',
        'REDIS_URL',
        'MEMCACHED_SERVERS',
        'MONGODB_URL',
        'DATABASE_URL',
        'SESSION_SQL_TABLE',
        'SESSION_FILE_DIR',
        'SESSION_CLEANUP_INTERVAL',
      ]),
    );
    expect(new Set(variables).size).toBe(variables.length);
  });
});
