import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env, SessionStoreHandle } from '../../src/session/index.js';
import {
  memoryProbe,
  redisProbe,
  sqliteProbe,
  type StoreProbe,
} from './store-probes.js';

/** The shared Redis of the machine (CI has the same); never flushed, only our prefix is used. */
export const SHARED_REDIS_URL =
  process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One store type the e2e suites run against: how to configure the app and read the store. */
export interface StoreCase {
  type: string;
  env: Env;
  prefix: string;
  probe(getHandle: () => SessionStoreHandle): StoreProbe;
}

export function uniquePrefix(): string {
  return `e2e-${randomBytes(4).toString('hex')}:`;
}

export function storeCases(): StoreCase[] {
  const sqliteFile = join(
    mkdtempSync(join(tmpdir(), 'sessions-e2e-')),
    'sessions.sqlite',
  );
  const sqlPrefix = uniquePrefix();
  const redisPrefix = uniquePrefix();
  const memoryPrefix = uniquePrefix();
  return [
    {
      type: 'sql',
      env: {
        SESSION_TYPE: 'sql',
        DATABASE_URL: `sqlite:${sqliteFile}`,
        SESSION_KEY_PREFIX: sqlPrefix,
      },
      prefix: sqlPrefix,
      probe: () => sqliteProbe(sqliteFile, sqlPrefix),
    },
    {
      type: 'redis',
      env: {
        SESSION_TYPE: 'redis',
        REDIS_URL: SHARED_REDIS_URL,
        SESSION_KEY_PREFIX: redisPrefix,
      },
      prefix: redisPrefix,
      probe: () => redisProbe(SHARED_REDIS_URL, redisPrefix),
    },
    {
      type: 'memory',
      env: { SESSION_TYPE: 'memory', SESSION_KEY_PREFIX: memoryPrefix },
      prefix: memoryPrefix,
      probe: (getHandle) => memoryProbe(getHandle, memoryPrefix),
    },
  ];
}
