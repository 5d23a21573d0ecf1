import { afterAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Env, SessionStoreHandle, SessionType } from 'nest-server-session';
import { MemcachedServerProcess } from './memcached-server.js';
import {
  redisTopologyCases,
  stopSharedTopologies,
} from './redis-topologies.js';
import {
  dropTable,
  fileProbe,
  knexProbe,
  memcachedProbe,
  handleProbe,
  redisProbe,
  type SqlClient,
  type StoreProbe,
} from './store-probes.js';

/** The shared Redis of the machine (CI has the same); never flushed, only our prefix is used. */
export const SHARED_REDIS_URL =
  process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The machine's PostgreSQL and MariaDB (trust auth / root without password, database test). */
export const POSTGRES_URL =
  process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL =
  process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
/** MongoDB cannot be installed on these machines; its cases run only when this is set. */
export const MONGODB_URL = process.env.MONGODB_URL;

/** What a running store case gives its tests. */
export interface StoreSetup {
  /** App environment that selects and reaches this store (prefix left to the test). */
  env: Env;
  /** Reads the store beside the app, with its own client. */
  probe(prefix: string, getHandle: () => SessionStoreHandle): StoreProbe;
  /** Stops private servers, drops tables, removes directories. */
  tearDown(): Promise<void>;
}

/** One store the e2e and conformance suites run against, on its real server. */
export interface StoreCase {
  /** The type, and for sql which database: used in test titles and the summary. */
  name: string;
  type: SessionType;
  /** Whether the store can list its sessions (length/all/ids/clear). */
  enumerable: boolean;
  /** Whether two store instances see the same sessions (not so the in-process memory store). */
  shared: boolean;
  /** Set when the case cannot run on this machine; the suites name it and the reason. */
  notRunReason?: string;
  setUp(): Promise<StoreSetup>;
  /**
   * Environment pointing the store at `hostPort`, where nothing useful answers; absent for
   * stores that live in the process or on a local disk.
   */
  unreachableEnv?(hostPort: string): Env;
  /**
   * Why a TCP proxy in front of the address in `env` cannot stall this store, when it cannot
   * (a cluster or Sentinel client goes to the servers the cluster or the sentinels name).
   */
  notBehindProxy?: string;
  /** What GET /health reports of the store besides `ok` (jest matchers allowed). */
  health?: Record<string, unknown>;
}

/** Removes the collection a MongoDB case made, so a real server keeps nothing of the tests. */
async function dropCollection(url: string, collection: string): Promise<void> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client
      .db()
      .collection(collection)
      .drop()
      .catch(() => undefined);
  } finally {
    await client.close();
  }
}

export function uniquePrefix(): string {
  return `e2e-${randomBytes(4).toString('hex')}:`;
}

/** A table of its own per run, dropped afterwards: the shared databases keep nothing of ours. */
function sqlCase(
  name: string,
  url: string,
  client: SqlClient,
  unreachableEnv?: (hostPort: string) => Env,
): StoreCase {
  return {
    name,
    type: 'sql',
    enumerable: true,
    shared: true,
    unreachableEnv,
    setUp: async () => {
      const dir =
        client === 'better-sqlite3'
          ? await mkdtemp(join(tmpdir(), 'sessions-e2e-'))
          : undefined;
      const databaseUrl = dir ? `sqlite:${join(dir, 'sessions.sqlite')}` : url;
      const table = `sessions_e2e_${randomBytes(4).toString('hex')}`;
      return {
        env: {
          SESSION_TYPE: 'sql',
          DATABASE_URL: databaseUrl,
          SESSION_SQL_TABLE: table,
        },
        probe: (prefix) => knexProbe(client, databaseUrl, table, prefix),
        tearDown: async () => {
          if (dir) await rm(dir, { recursive: true, force: true });
          else await dropTable(client, databaseUrl, table);
        },
      };
    },
  };
}

export function storeCases(): StoreCase[] {
  return [
    {
      name: 'memory',
      type: 'memory',
      enumerable: true,
      shared: false,
      setUp: () =>
        Promise.resolve({
          env: { SESSION_TYPE: 'memory' },
          probe: (prefix, getHandle) => handleProbe(getHandle, prefix),
          tearDown: () => Promise.resolve(),
        }),
    },
    {
      name: 'redis',
      type: 'redis',
      enumerable: true,
      shared: true,
      health: {
        mode: 'single',
        nodes: [{ address: expect.any(String), role: 'master', up: true }],
      },
      unreachableEnv: (hostPort) => ({ REDIS_URL: `redis://${hostPort}` }),
      setUp: () =>
        Promise.resolve({
          env: { SESSION_TYPE: 'redis', REDIS_URL: SHARED_REDIS_URL },
          probe: (prefix) => redisProbe(SHARED_REDIS_URL, prefix),
          tearDown: () => Promise.resolve(),
        }),
    },
    ...redisTopologyCases(),
    {
      name: 'memcached',
      type: 'memcached',
      enumerable: false,
      shared: true,
      unreachableEnv: (hostPort) => ({ MEMCACHED_SERVERS: hostPort }),
      setUp: async () => {
        const server = await MemcachedServerProcess.start();
        return {
          env: { SESSION_TYPE: 'memcached', MEMCACHED_SERVERS: server.address },
          probe: (prefix) => memcachedProbe(server.port, prefix),
          tearDown: () => server.stop(),
        };
      },
    },
    sqlCase('sql (sqlite)', '', 'better-sqlite3'),
    sqlCase('sql (postgres)', POSTGRES_URL, 'pg', (hostPort) => ({
      DATABASE_URL: `postgres://postgres@${hostPort}/test`,
    })),
    sqlCase('sql (mysql)', MYSQL_URL, 'mysql2', (hostPort) => ({
      DATABASE_URL: `mysql://root@${hostPort}/test`,
    })),
    {
      name: 'filesystem',
      type: 'filesystem',
      enumerable: true,
      shared: true,
      setUp: async () => {
        const dir = await mkdtemp(join(tmpdir(), 'sessions-files-'));
        return {
          env: { SESSION_TYPE: 'filesystem', SESSION_FILE_DIR: dir },
          probe: (prefix) => fileProbe(dir, prefix),
          tearDown: () => rm(dir, { recursive: true, force: true }),
        };
      },
    },
    {
      name: 'mongodb',
      type: 'mongodb',
      enumerable: true,
      shared: true,
      notRunReason: MONGODB_URL
        ? undefined
        : 'MONGODB_URL is not set and MongoDB cannot be installed on this machine',
      unreachableEnv: (hostPort) => ({
        MONGODB_URL: `mongodb://${hostPort}/sessions`,
      }),
      setUp: () => {
        const collection = `sessions_e2e_${randomBytes(4).toString('hex')}`;
        return Promise.resolve({
          env: {
            SESSION_TYPE: 'mongodb',
            MONGODB_URL: MONGODB_URL!,
            SESSION_MONGODB_COLLECTION: collection,
          },
          probe: (prefix, getHandle) => handleProbe(getHandle, prefix),
          // Without a server (the unreachable cases) nothing was made.
          tearDown: () =>
            MONGODB_URL
              ? Promise.all([
                  dropCollection(MONGODB_URL, collection),
                  // The per-user index of the same sessions.
                  dropCollection(MONGODB_URL, `${collection}_users`),
                ]).then(() => undefined)
              : Promise.resolve(),
        });
      },
    },
  ];
}

/**
 * `describe(title + store name)` for every store case. A case that cannot run here still gets
 * its block, holding one skipped test whose name says why, so no store drops out silently.
 * With `alsoWithoutServer`, `body` runs for such a case too, for the tests that need no server
 * (it can tell by `store.notRunReason`).
 */
export function describeEachStore(
  title: string,
  body: (store: StoreCase) => void,
  { alsoWithoutServer = false } = {},
): void {
  // The Redis cluster and Sentinel group a file's blocks share stop once they are all done.
  afterAll(stopSharedTopologies);
  for (const store of storeCases()) {
    describe(`${title} ${store.name}`, () => {
      if (store.notRunReason)
        // oxlint-disable-next-line jest/no-disabled-tests, jest/expect-expect -- the name says why it did not run
        it.skip(`NOT RUN against a server: ${store.notRunReason}`, () => {});
      if (!store.notRunReason || alsoWithoutServer) body(store);
    });
  }
}
