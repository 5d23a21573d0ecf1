/**
 * #12 on SQL: the per-user index table on each database. With 1000 users × 3 sessions stored,
 * listing one user is one statement that reads that user's 3 entries and their 3 sessions by
 * primary key, never a scan: shown by SQLite's query plan, PostgreSQL's table statistics of the
 * real call (and the statement's EXPLAIN ANALYZE), MariaDB's ANALYZE of the statement. Also on
 * the real servers: users whose ids only a case or a trailing space tells apart stay apart, a
 * table name of the longest length works, and the sweep tidies the index.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import knexFactory, { type Knex } from 'knex';
import { createSessionCodec } from '../packages/nest-server-session/src/stores/common/session-codec.js';
import {
  session,
  sessionId,
  sleep,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { ConsistentStore } from '../packages/nest-server-session/src/stores/common/consistent-store.js';
import { KnexSessionBackend } from '../packages/nest-server-session/src/stores/sql/knex-session.store.js';
import { SessionTable } from '../packages/nest-server-session/src/stores/sql/session-table.js';
import { MYSQL_URL, POSTGRES_URL } from './utils/store-cases.js';
import { dropTable, type SqlClient } from './utils/store-probes.js';

const USERS = 1000;
const SESSIONS_PER_USER = 3;
const LISTED = 'user-500';
const PREFIX = 'session:';
const LIFETIME = 3600;
/** Rows per INSERT while loading: within SQLite's limit on bound values. */
const INSERT_BATCH = 200;

const codec = createSessionCodec();
/** Ids of the sweep test's sessions. */
const sweepSid = (seed: string) => sessionId(`sweep-${seed}-`);

/** Reads of one table by one statement, as the database reports them. */
interface TableReads {
  table: string;
  /** How the rows were found: an index lookup or a scan, in the database's words. */
  access: string;
  /** Rows read from the table (all loops). */
  rows?: number;
}

interface Database {
  client: SqlClient;
  url: string;
  /** How the analysis names a primary-key lookup of the index (`u`) and session (`s`) tables. */
  lookup: Record<string, RegExp>;
  /** Whether the analysis counts the rows read. */
  countsRows: boolean;
  /** The statement's reads of each table, from the database's own analysis of it. */
  reads(
    db: Knex,
    sql: string,
    bindings: readonly unknown[],
  ): Promise<TableReads[]>;
}

const sqlite: Database = {
  client: 'better-sqlite3',
  url: '',
  lookup: {
    u: /^SEARCH u USING (INDEX sqlite_autoindex_\w+_users_1|PRIMARY KEY) \(user_id=\?\)/,
    s: /^SEARCH s USING (INDEX sqlite_autoindex_\w+_1|PRIMARY KEY) \(sid=\?\)/,
  },
  countsRows: false,
  reads: async (db, sql, bindings) => {
    const plan = await db.raw<{ detail: string }[]>(
      `explain query plan ${sql}`,
      bindings as Knex.RawBinding[],
    );
    return plan.map(({ detail }) => ({
      table: /^(?:SEARCH|SCAN) (\w+)/.exec(detail)?.[1] ?? detail,
      access: detail,
    }));
  },
};

const postgres: Database = {
  client: 'pg',
  url: POSTGRES_URL,
  lookup: {
    u: /^(Index (Only )?Scan|Bitmap Heap Scan) using \w+_users_pkey$/,
    s: /^(Index (Only )?Scan|Bitmap Heap Scan) using \w+_pkey$/,
  },
  countsRows: true,
  reads: async (db, sql, bindings) => {
    const result = await db.raw<{
      rows: { 'QUERY PLAN': [{ Plan: PgPlan }] }[];
    }>(
      `explain (analyze, format json) ${sql.replace(/\$\d+/g, '?')}`,
      bindings as Knex.RawBinding[],
    );
    const reads: TableReads[] = [];
    const walk = (plan: PgPlan) => {
      // A bitmap heap scan reads the rows its child, a bitmap index scan, found.
      const index =
        plan['Index Name'] ??
        plan.Plans?.find((p) => p['Node Type'] === 'Bitmap Index Scan')?.[
          'Index Name'
        ];
      if (plan['Alias'])
        reads.push({
          table: plan['Alias'],
          access: `${plan['Node Type']} using ${index ?? '-'}`,
          // All figures are per loop.
          rows:
            (plan['Actual Rows'] +
              (plan['Rows Removed by Filter'] ?? 0) +
              (plan['Rows Removed by Index Recheck'] ?? 0)) *
            plan['Actual Loops'],
        });
      plan.Plans?.forEach(walk);
    };
    walk(result.rows[0]['QUERY PLAN'][0].Plan);
    return reads;
  },
};

const mysql: Database = {
  client: 'mysql2',
  url: MYSQL_URL,
  lookup: { u: /^ref on PRIMARY$/, s: /^eq_ref on PRIMARY$/ },
  countsRows: true,
  reads: async (db, sql, bindings) => {
    const [rows] = await db.raw<[{ ANALYZE: string }[]]>(
      `analyze format=json ${sql}`,
      bindings as Knex.RawBinding[],
    );
    const analysis = JSON.parse(rows[0].ANALYZE) as {
      query_block: { nested_loop: { table: MariaDbTable }[] };
    };
    return analysis.query_block.nested_loop.map(({ table }) => ({
      table: table.table_name,
      access: `${table.access_type} on ${table.key ?? '-'}`,
      rows: table.r_loops * table.r_rows,
    }));
  },
};

interface PgPlan {
  'Node Type': string;
  Alias?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PgPlan[];
}

interface MariaDbTable {
  table_name: string;
  access_type: string;
  key?: string;
  r_loops: number;
  r_rows: number;
}

describe.each([
  ['SQLite', sqlite],
  ['PostgreSQL', postgres],
  ['MySQL', mysql],
] as const)('the per-user index on %s', (name, database) => {
  const tableName = `sessions_e2e_${randomBytes(4).toString('hex')}`;
  let dir: string | undefined;
  let url: string;
  let db: Knex;
  let table: SessionTable;
  let backend: KnexSessionBackend;
  /** The statements the backend sends, as knex reports them. */
  const statements: { sql: string; bindings: readonly unknown[] }[] = [];

  const connect = (max = 2) =>
    knexFactory(
      database.client === 'better-sqlite3'
        ? {
            client: database.client,
            connection: { filename: url.slice('sqlite:'.length) },
            useNullAsDefault: true,
          }
        : {
            client: database.client,
            connection: url,
            // One connection: PostgreSQL's statistics below are flushed by the connection
            // that made them.
            pool: { min: 0, max },
          },
    );

  beforeAll(async () => {
    dir =
      database.client === 'better-sqlite3'
        ? await mkdtemp(join(tmpdir(), 'sql-user-index-'))
        : undefined;
    url = dir ? `sqlite:${join(dir, 'sessions.sqlite')}` : database.url;
    db = connect(1);
    table = new SessionTable(db, tableName, undefined, 5000);
    backend = new KnexSessionBackend(table, PREFIX, codec);
    await backend.ready();
    db.on('query', (query: { sql: string; bindings?: unknown[] }) =>
      statements.push({ sql: query.sql, bindings: query.bindings ?? [] }),
    );
    await loadUsers();
  });

  afterAll(async () => {
    await db?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
    else await dropTable(database.client, url, tableName);
  });

  /** `USERS` users with `SESSIONS_PER_USER` sessions each, loaded in bulk. */
  async function loadUsers() {
    const now = Date.now();
    const sessions: Record<string, unknown>[] = [];
    const entries: Record<string, unknown>[] = [];
    for (let u = 0; u < USERS; u++)
      for (let k = 0; k < SESSIONS_PER_USER; k++) {
        const user = `user-${u}`;
        if (user === LISTED) continue;
        const key = PREFIX + sessionId(`u${u}s${k}-`);
        sessions.push({
          sid: key,
          sess: Buffer.from(codec.encode(session({ username: user }))),
          expires_at: now + LIFETIME * 1000,
          version: 1 + k,
        });
        entries.push({
          user_id: user,
          sid: key,
          device: JSON.stringify({ createdAt: now, userAgent: 'Firefox' }),
          expires_at: now + LIFETIME * 1000,
        });
      }
    for (let i = 0; i < sessions.length; i += INSERT_BATCH) {
      await db(table.name).insert(sessions.slice(i, i + INSERT_BATCH));
      await db(table.usersName).insert(entries.slice(i, i + INSERT_BATCH));
    }
    // The listed user logs in as the module does it: indexed first, then written.
    for (let k = 0; k < SESSIONS_PER_USER; k++) {
      const sid = sessionId(`listed${k}-`);
      await backend.users.add(LISTED, sid, { createdAt: now }, LIFETIME);
      await backend.create(sid, session({ username: LISTED }), LIFETIME);
    }
  }

  it(`lists one of ${USERS} users × ${SESSIONS_PER_USER} sessions in one statement reading only that user’s rows`, async () => {
    statements.length = 0;
    const listed = await backend.users.list(LISTED);
    const sent = [...statements];

    expect(listed.map((entry) => entry.sid).toSorted()).toEqual(
      Array.from({ length: SESSIONS_PER_USER }, (_, k) =>
        sessionId(`listed${k}-`),
      ).toSorted(),
    );
    expect(sent).toHaveLength(1);
    const reads = await database.reads(db, sent[0].sql, sent[0].bindings);
    console.log(
      [
        `${name}: list of 1 of ${USERS} users × ${SESSIONS_PER_USER} sessions: ${sent.length} statement`,
        ...reads.map(
          (r) =>
            `  ${r.table}: ${r.access}${r.rows === undefined ? '' : `, ${r.rows} rows read`}`,
        ),
      ].join('\n'),
    );

    // Each table read through its primary key, and only the user's rows: 3 entries, 3 sessions.
    expect(reads.map((r) => r.table).toSorted()).toEqual(['s', 'u']);
    for (const r of reads) expect(r.access).toMatch(database.lookup[r.table]);
    expect(reads.flatMap((r) => r.rows ?? [])).toEqual(
      database.countsRows ? [SESSIONS_PER_USER, SESSIONS_PER_USER] : [],
    );
  });

  // The statistics of the real call, beside the analysis of its statement.
  if (database === postgres)
    it('on PostgreSQL: the call scans no table sequentially and fetches 3 rows from each (pg_stat_user_tables)', async () => {
      const stats = await pgTableStats(url, table);
      try {
        // A connection publishes its statistics when it goes idle after this call.
        const flush = () => db.raw('select pg_stat_force_next_flush()');
        await flush();
        const before = await stats.read();
        await backend.users.list(LISTED);
        await flush();
        const after = await stats.readWhen((now) =>
          now.some((t, i) => t.idx_scan > before[i].idx_scan),
        );
        const deltas = after.map((t, i) => ({
          table: t.relname === table.name ? 'sessions' : 'index',
          seq_scan: t.seq_scan - before[i].seq_scan,
          idx_scan: t.idx_scan - before[i].idx_scan,
          idx_tup_fetch: t.idx_tup_fetch - before[i].idx_tup_fetch,
        }));
        console.log(
          deltas
            .map(
              (d) =>
                `PostgreSQL pg_stat_user_tables, ${d.table} table, one list call: ` +
                `seq_scan +${d.seq_scan}, idx_scan +${d.idx_scan}, idx_tup_fetch +${d.idx_tup_fetch}`,
            )
            .join('\n'),
        );
        expect(deltas).toEqual([
          expect.objectContaining({
            seq_scan: 0,
            idx_tup_fetch: SESSIONS_PER_USER,
          }),
          expect.objectContaining({
            seq_scan: 0,
            idx_tup_fetch: SESSIONS_PER_USER,
          }),
        ]);
      } finally {
        await stats.close();
      }
    });

  // SQLite: one transaction; PostgreSQL: one statement (the entry in a WITH). MySQL takes no
  // INSERT in a WITH, and a transaction would cost two more round trips: there the two writes
  // go side by side, and the session is taken back when its entry fails.
  it(`writes a login’s session and its entry ${name === 'MySQL' ? 'side by side' : 'in one go'}: both or neither; a logout deletes both`, async () => {
    expect([typeof backend.createOwned, typeof backend.destroyOwned]).toEqual(
      name === 'MySQL' ? ['undefined', 'undefined'] : ['function', 'function'],
    );
    const store = new ConsistentStore(backend, {
      timeoutMs: 5000,
      lifetime: LIFETIME,
    });
    const save = (sid: string, username: string) =>
      new Promise<unknown>((resolve) =>
        store.set(sid, session({ username }), (err) => resolve(err)),
      );
    const sid = sessionId('owned-');
    expect(await save(sid, 'owned-user')).toBeFalsy();
    expect((await backend.users.list('owned-user')).map((e) => e.sid)).toEqual([
      sid,
    ]);
    expect((await backend.load(sid))?.session).toMatchObject({
      username: 'owned-user',
    });
    // A logout: both go (on SQLite and PostgreSQL in one go, on MySQL one after the other).
    await new Promise((resolve) => store.destroy(sid, resolve));
    await sleep(50);
    expect(await backend.users.list('owned-user')).toEqual([]);
    expect(await backend.load(sid)).toBeNull();
    // An entry the database refuses: neither is left.
    const trigger = `refuse_${tableName}`;
    await refuseEntriesOf('refused-user', trigger);
    try {
      const refused = sessionId('refused-');
      expect(await save(refused, 'refused-user')).toBeInstanceOf(Error);
      expect(await backend.load(refused)).toBeNull();
      expect(
        Number(
          (
            await db(table.name)
              .where('sid', PREFIX + refused)
              .count({ n: '*' })
          )[0].n,
        ),
      ).toBe(0);
    } finally {
      await dropRefusal(trigger);
    }
  });

  async function dropRefusal(trigger: string) {
    if (name === 'PostgreSQL') {
      await db.raw(`drop trigger ${trigger} on ${table.usersName}`);
      await db.raw(`drop function ${trigger}()`);
    } else await db.raw(`drop trigger ${trigger}`);
  }

  /** A trigger that makes the database refuse every index entry of `user`. */
  async function refuseEntriesOf(user: string, trigger: string) {
    const users = table.usersName;
    if (name === 'SQLite')
      await db.raw(
        `create trigger ${trigger} before insert on ${users} when new.user_id = '${user}' begin select raise(abort, 'refused'); end`,
      );
    else if (name === 'PostgreSQL') {
      await db.raw(
        `create or replace function ${trigger}() returns trigger language plpgsql as $$ begin if new.user_id = '${user}' then raise exception 'refused'; end if; return new; end $$`,
      );
      await db.raw(
        `create trigger ${trigger} before insert on ${users} for each row execute function ${trigger}()`,
      );
    } else
      await db.raw(
        `create trigger ${trigger} before insert on ${users} for each row begin if new.user_id = '${user}' then signal sqlstate '45000' set message_text = 'refused'; end if; end`,
      );
  }

  it('keeps apart users whose ids differ only by case or a trailing space', async () => {
    const users = ['bob', 'Bob', 'bob '];
    for (const [i, user] of users.entries()) {
      await backend.users.add(
        user,
        sessionId(`bob${i}-`),
        { createdAt: 1 },
        LIFETIME,
      );
      await backend.create(sessionId(`bob${i}-`), session(), LIFETIME);
    }
    for (const [i, user] of users.entries())
      expect((await backend.users.list(user)).map((e) => e.sid)).toEqual([
        sessionId(`bob${i}-`),
      ]);
  });

  it('sweeps the entries of ended sessions, and moves on those of live ones', async () => {
    const user = 'sweep-user';
    // Entries whose own expiry passes at once: of a session destroyed without the index
    // being told, of a session that lives on, and of one never written.
    await backend.users.add(user, sweepSid('destroyed'), { createdAt: 1 }, 0);
    await backend.create(sweepSid('destroyed'), session(), LIFETIME);
    await backend.destroy(sweepSid('destroyed'));
    await backend.users.add(user, sweepSid('live'), { createdAt: 1 }, 0);
    await backend.create(sweepSid('live'), session(), LIFETIME);
    await backend.users.add(user, sweepSid('never'), { createdAt: 1 }, 0);
    await backend.users.add(
      user,
      sweepSid('pending'),
      { createdAt: 1 },
      LIFETIME,
    );
    await sleep(5);

    await backend.removeExpired();

    const rows = await db(table.usersName)
      .where('user_id', user)
      .orderBy('sid')
      .select<{ sid: string; expires_at: number | string }[]>(
        'sid',
        'expires_at',
      );
    expect(rows.map((row) => row.sid)).toEqual(
      [PREFIX + sweepSid('live'), PREFIX + sweepSid('pending')].toSorted(),
    );
    const stored = await db(table.name)
      .where('sid', PREFIX + sweepSid('live'))
      .first<{ expires_at: number | string }>('expires_at');
    expect(
      Number(rows.find((r) => r.sid === PREFIX + sweepSid('live'))!.expires_at),
    ).toBe(Number(stored.expires_at));
    expect((await backend.users.list(user)).map((e) => e.sid)).toEqual([
      sweepSid('live'),
    ]);
  });

  it('works with a table name of the longest length (63 characters)', async () => {
    const long = `sessions_e2e_${randomBytes(4).toString('hex')}_`.padEnd(
      63,
      'x',
    );
    const other = connect();
    const longTable = new SessionTable(other, long, undefined, 5000);
    try {
      const longBackend = new KnexSessionBackend(longTable, PREFIX, codec);
      await longBackend.ready();
      // Another instance starting finds both tables made.
      await new KnexSessionBackend(longTable, PREFIX, codec).ready();
      expect(longTable.usersName).toHaveLength(63);
      await longBackend.users.add(
        'ann',
        sessionId('long'),
        { createdAt: 1 },
        LIFETIME,
      );
      await longBackend.create(sessionId('long'), session(), LIFETIME);
      expect((await longBackend.users.list('ann')).map((e) => e.sid)).toEqual([
        sessionId('long'),
      ]);
    } finally {
      if (!dir) {
        await other.schema.dropTableIfExists(longTable.usersName);
        await other.schema.dropTableIfExists(long);
      }
      await other.destroy();
    }
  });
});

interface PgTableStats {
  relname: string;
  seq_scan: number;
  idx_scan: number;
  idx_tup_fetch: number;
}

/** pg_stat_user_tables of the session and index tables, read on a connection of its own. */
async function pgTableStats(url: string, table: SessionTable) {
  const observer = knexFactory({
    client: 'pg',
    connection: url,
    pool: { min: 0, max: 1 },
  });
  const read = async (): Promise<PgTableStats[]> => {
    await observer.raw('select pg_stat_clear_snapshot()');
    const { rows } = await observer.raw<{ rows: PgTableStats[] }>(
      `select relname, seq_scan::int, coalesce(idx_scan, 0)::int as idx_scan,
              coalesce(idx_tup_fetch, 0)::int as idx_tup_fetch
         from pg_stat_user_tables where relname in (?, ?) order by relname`,
      [table.name, table.usersName],
    );
    return rows;
  };
  return {
    read,
    /** Statistics once `ready` says the call's are in (they reach the view within ~1 s). */
    readWhen: async (ready: (stats: PgTableStats[]) => boolean) => {
      for (let i = 0; i < 50; i++) {
        const stats = await read();
        if (ready(stats)) return stats;
        await sleep(100);
      }
      throw new Error('PostgreSQL did not publish the statistics of the call');
    },
    close: () => observer.destroy(),
  };
}
