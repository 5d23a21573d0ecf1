import type { Knex } from 'knex';
import { performance } from 'node:perf_hooks';
import { batchPacer, TimedBatches } from '../common/sweep-pace.js';
import type { SweepOptions } from '../store.contract.js';
import { SqlStoreError, toSqlStoreError } from './sql-errors.js';
import type { SessionTable } from './session-table.js';
import { SWEEP_AFTER, sweepAfter } from './sweep-after.js';

/** Rows deleted per statement: one batch holds its locks briefly. */
export const SWEEP_BATCH_SIZE = 1000;
/**
 * ...and by the periodic sweep on PostgreSQL and MySQL, while the server also answers the
 * app's requests. Measured on PostgreSQL (a million expired rows among 100,000 live ones, page
 * views at 200 a second, server and app on the same 2 cores): page views' p99 during the sweep
 * was 4.5× that without at 1,000 rows a batch, 1.03× at 200, for a sweep 30% slower. The server
 * meanwhile wrote back ~900 dirty buffers a second from its backends (shared_buffers full of
 * the deleted pages), so a read could wait for a write.
 */
export const PACED_SWEEP_BATCH_SIZE = 200;
/**
 * On SQLite, whose driver is synchronous, a batch blocks the event loop while it runs: about
 * 4 ms for 500 rows of a 200,000-row table (on 2 loaded cores), 20 ms and more on a million.
 * The most rows a batch takes there; the periodic sweep sizes each batch to block for about
 * {@link SQLITE_PACED_BATCH_MS}.
 */
export const SQLITE_SWEEP_BATCH_SIZE = 500;
/** What a request arriving during the periodic sweep may wait for a SQLite batch. */
const SQLITE_PACED_BATCH_MS = 4;
/** A batch's deadline, in store timeouts: sweeping is not a request, and may take longer. */
const SWEEP_DEADLINE_FACTOR = 10;
/** Never less than this, however short the store timeout. */
const MIN_SWEEP_DEADLINE_MS = 10_000;

/** One batch of a sweep: a statement changing at most `batchSize` rows due at `now`. */
type Batch = (
  table: SessionTable,
  now: number,
  batchSize: number,
) => Knex.QueryBuilder;

/**
 * Gives rows of an earlier release their `sweep_after`, deletes expired rows of every prefix,
 * then the per-user index entries of sessions that ended (and moves on the expiry of the due
 * entries of live ones: see SqlUserIndex), a bounded batch per statement, each batch committed
 * on its own and with its own deadline, yielding to the event loop between batches (resting as
 * long as each took when `paced`, in batches sized to block briefly on SQLite). Resolves with the sessions deleted; a failure says how many had gone
 * before it, since those stay gone.
 */
export async function removeExpiredRows(
  table: SessionTable,
  {
    signal,
    paced,
    batchSize = table.dialect === 'sqlite'
      ? SQLITE_SWEEP_BATCH_SIZE
      : paced
        ? PACED_SWEEP_BATCH_SIZE
        : SWEEP_BATCH_SIZE,
  }: SweepOptions = {},
): Promise<number> {
  let removed = 0;
  const sizes =
    paced && table.blocking
      ? new TimedBatches(batchSize, SQLITE_PACED_BATCH_MS)
      : { size: batchSize, took: () => undefined };
  const sweep = async (
    batch: Batch,
    after: string,
    done?: (changed: number) => void,
  ) => {
    for (;;) {
      if (signal?.aborted) return;
      const rest = batchPacer(paced);
      const size = sizes.size;
      const started = performance.now();
      const changed = await runBatch(table, batch, size).catch(
        (err: unknown) => {
          const { reason, code } = toSqlStoreError(err);
          throw new SqlStoreError(
            `removed ${removed} expired session${removed === 1 ? '' : 's'}, then ${after}: ${reason}`,
            code,
          );
        },
      );
      sizes.took(size, performance.now() - started);
      done?.(changed);
      if (changed < size) return;
      await rest();
    }
  };
  await sweep(
    settleRowsWithoutBucket,
    'setting sweep_after on rows of an earlier release failed',
  );
  await sweep(deleteExpiredSessions, 'a batch failed', (changed) => {
    removed += changed;
  });
  await sweep(
    deleteDeadEntries,
    'removing ended sessions from the user index failed',
  );
  await sweep(keepLiveEntries, 'updating the user index failed');
  return removed;
}

function runBatch(
  table: SessionTable,
  batch: Batch,
  batchSize: number,
): Promise<number> {
  const deadline = Math.max(
    SWEEP_DEADLINE_FACTOR * table.timeoutMs,
    MIN_SWEEP_DEADLINE_MS,
  );
  return table.run<number>(batch(table, Date.now(), batchSize), deadline);
}

/**
 * DELETE … LIMIT where the database has it (MySQL), else through a limited subquery. Rows are
 * found through the index of `sweep_after`: those of the buckets that ended and of the one under
 * way (so that a session expired a moment ago goes too), of which only the expired are deleted.
 */
function deleteExpiredSessions(
  table: SessionTable,
  now: number,
  batchSize: number,
): Knex.QueryBuilder {
  const bucketEnd = sweepAfter(now, table.sweepBucketMs);
  const expired = () =>
    table
      .rows()
      .where(SWEEP_AFTER, '<=', bucketEnd)
      .where('expires_at', '<=', now);
  if (table.dialect === 'mysql') return expired().limit(batchSize).delete();
  // The outer condition again: a row a concurrent write made live again is not deleted.
  return expired()
    .whereIn('sid', expired().select('sid').limit(batchSize))
    .delete();
}

/**
 * Rows holding 0 in `sweep_after` (from before the column, or written by an earlier release
 * during an upgrade) get their expiry there, so that they leave the range every batch below
 * reads: until then each batch would step over all of them, live or not.
 */
function settleRowsWithoutBucket(
  table: SessionTable,
  _now: number,
  batchSize: number,
): Knex.QueryBuilder {
  // A row without an expiry stays 0, and is deleted below as expired.
  const unsettled = () =>
    table.rows().where(SWEEP_AFTER, 0).where('expires_at', '>', 0);
  const update = { [SWEEP_AFTER]: table.db.ref('expires_at') };
  if (table.dialect === 'mysql')
    return unsettled().limit(batchSize).update(update);
  // The outer statement finds rows by sid only. Repeating `sweep_after = 0` there (as the
  // delete repeats its condition) made SQLite walk the index of every row still holding 0 for
  // each batch: 28 ms a batch of 500 among 200,000 such rows, against 3 ms by sid. Nothing is
  // lost without it: a row a concurrent write gave its bucket meanwhile gets its expiry there,
  // a value the sweep reads the same way.
  return table
    .rows()
    .whereIn('sid', unsettled().select('sid').limit(batchSize))
    .update(update);
}

/** Index entries past their own expiry whose session is not live: ended, or never written. */
function deleteDeadEntries(
  table: SessionTable,
  now: number,
  batchSize: number,
): Knex.QueryBuilder {
  const dead = entriesDue(table, now, false);
  if (table.dialect === 'mysql') return dead().limit(batchSize).delete();
  return dead()
    .whereIn(
      ['user_id', 'sid'],
      dead().select('user_id', 'sid').limit(batchSize),
    )
    .delete();
}

/**
 * Index entries past their own expiry whose session lives on (it was refreshed since the
 * login) take the session's expiry, so the next sweeps skip them until then.
 */
function keepLiveEntries(
  table: SessionTable,
  now: number,
  batchSize: number,
): Knex.QueryBuilder {
  const live = entriesDue(table, now, true);
  // In the same statement as the condition that the session is live: never null.
  const sessionExpiry = table.db.raw('(?)', [
    table
      .rows()
      .select('expires_at')
      .whereRaw('?? = ??', [`${table.name}.sid`, `${table.usersName}.sid`]),
  ]);
  const update = { expires_at: sessionExpiry };
  if (table.dialect === 'mysql') return live().limit(batchSize).update(update);
  return live()
    .whereIn(
      ['user_id', 'sid'],
      live().select('user_id', 'sid').limit(batchSize),
    )
    .update(update);
}

/**
 * Index entries whose own expiry has passed, with (`withSession`) or without a live session.
 * Columns are named by the tables' own names, which a subquery's FROM or a DELETE's target
 * defines alike.
 */
function entriesDue(
  table: SessionTable,
  now: number,
  withSession: boolean,
): () => Knex.QueryBuilder {
  const liveSession = () =>
    table
      .rows()
      .select(table.db.raw('1'))
      .whereRaw('?? = ??', [`${table.name}.sid`, `${table.usersName}.sid`])
      .where(`${table.name}.expires_at`, '>', now);
  return () => {
    const due = table
      .userRows()
      .where(`${table.usersName}.expires_at`, '<=', now);
    return withSession
      ? due.whereExists(liveSession())
      : due.whereNotExists(liveSession());
  };
}
