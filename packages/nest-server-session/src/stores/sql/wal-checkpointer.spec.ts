import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../common/store.fixtures.js';
import { WalCheckpointer } from './wal-checkpointer.js';

const require = createRequire(import.meta.url);
const driver = require.resolve('better-sqlite3');

/** better-sqlite3, as much of it as this test uses (the package ships no types). */
interface SqliteDatabase {
  pragma(source: string, options?: { simple: boolean }): unknown;
  exec(source: string): void;
  prepare(source: string): { run(...values: unknown[]): unknown };
  close(): void;
  readonly open: boolean;
}
const Database = require('better-sqlite3') as new (
  filename: string,
) => SqliteDatabase;

async function until(check: () => boolean | Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(25);
  }
}

const autocheckpoint = (conn: SqliteDatabase) =>
  conn.pragma('wal_autocheckpoint', { simple: true }) as number;

describe('WalCheckpointer', () => {
  let dir: string;
  let filename: string;
  let conn: SqliteDatabase;
  let checkpointer: WalCheckpointer;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wal-checkpointer-'));
    filename = join(dir, 'sessions.sqlite');
    conn = new Database(filename);
    conn.pragma('journal_mode = WAL');
    conn.exec('create table t (id integer primary key, body blob)');
  });

  afterEach(async () => {
    await checkpointer?.stop();
    conn.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes checkpoints off the app’s connection and moves the WAL into the database itself', async () => {
    checkpointer = new WalCheckpointer({
      filename,
      driver,
      busyTimeoutMs: 1000,
    });
    checkpointer.adopt(conn);
    await until(() => checkpointer.active);
    // The app's connection no longer checkpoints at all...
    expect(autocheckpoint(conn)).toBe(0);

    // ...yet 8 MB written in small commits (2,000 pages: twice what SQLite lets a WAL reach
    // before its own checkpoint) end up in the database file.
    const insert = conn.prepare('insert into t (body) values (?)');
    for (let i = 0; i < 2000; i++) insert.run(Buffer.alloc(4096, i % 256));
    await until(async () => (await stat(filename)).size > 8_000_000);
    expect(autocheckpoint(conn)).toBe(0);
  });

  it('gives the app’s connections their automatic checkpoints back when the thread fails', async () => {
    // A thread that cannot load its driver fails as one that crashes later would.
    checkpointer = new WalCheckpointer({
      filename,
      driver: join(dir, 'no-such-driver.js'),
      busyTimeoutMs: 1000,
    });
    conn.pragma('wal_autocheckpoint = 7');
    checkpointer.adopt(conn);
    await until(() => autocheckpoint(conn) === 1000);
    expect(checkpointer.active).toBe(false);
  });

  it('stops with a last checkpoint, leaving nothing running', async () => {
    checkpointer = new WalCheckpointer({
      filename,
      driver,
      busyTimeoutMs: 1000,
    });
    // Never started: nothing to wait for.
    await checkpointer.stop();
    expect(checkpointer.active).toBe(false);

    checkpointer = new WalCheckpointer({
      filename,
      driver,
      busyTimeoutMs: 1000,
    });
    checkpointer.adopt(conn);
    await until(() => checkpointer.active);
    const insert = conn.prepare('insert into t (body) values (?)');
    for (let i = 0; i < 100; i++) insert.run(Buffer.alloc(4096, 1));
    await checkpointer.stop();
    expect(checkpointer.active).toBe(false);
    // Whatever the periodic checkpoints left, the last one copied: the file holds the 100 rows.
    expect((await stat(filename)).size).toBeGreaterThan(100 * 4096);
  });
});
