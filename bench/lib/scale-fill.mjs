/**
 * Fills our stores fast, straight in the format each keeps (the same bytes our codec writes,
 * under the same keys, with the same expiry), for the scale measurements: Redis pipelines of
 * SET … EX, memcached `set … noreply` streamed on one connection, SQL multi-row INSERTs,
 * session files written directly with their mtime as the expiry, and the memory store through
 * its backend. Sessions are `{ cookie, username, views }`, as the workload's are.
 */
import { writeFile, utimes } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import session from 'express-session';
import { sweepAfter, sweepBucketMs } from '../../packages/nest-server-session/dist/stores/sql/sweep-after.js';
import { cookieOptions, newSessionId } from './store-calls.mjs';
import { sqlConnection } from './sql-inspect.mjs';
import { inParallel, WORKLOAD_MAX_AGE_MS } from './store-workload.mjs';

const SQL_ROWS_PER_INSERT = 1000;
const REDIS_PER_PIPELINE = 10_000;
const FILES_IN_FLIGHT = 64;

/** Sessions per user in a fill: users are `user-<i / 3>`. */
export const SESSIONS_PER_USER = 3;
export const userOf = (i) => `user-${Math.floor(i / SESSIONS_PER_USER)}`;

/** The JSON our codec writes for session `i`, with the cookie as it stores it. */
function sessionJson(cookie, i) {
  return JSON.stringify({ cookie, username: userOf(i), views: 0 });
}

/**
 * Writes `count` sessions into `side` (one of ours, opened by openOurStore) expiring
 * `ttlMs` from now (negative: already expired), with ids from `makeId`; resolves with the ids
 * when `keepIds`, so that the workload can read them.
 */
export async function bulkFill(
  side,
  server,
  cleanup,
  { count, ttlMs = WORKLOAD_MAX_AGE_MS, keepIds = true, firstUser = 0 },
) {
  const expiresAt = Date.now() + ttlMs;
  const cookie = {
    ...new session.Cookie(cookieOptions(WORKLOAD_MAX_AGE_MS)).toJSON(),
    expires: new Date(expiresAt),
  };
  const ids = keepIds ? new Array(count) : undefined;
  const batch = (size, write) => async (start) => {
    const rows = [];
    for (let i = start; i < Math.min(start + size, count); i++) {
      const sid = newSessionId();
      if (ids) ids[i] = sid;
      rows.push({ sid, json: sessionJson(cookie, firstUser + i) });
    }
    await write(rows);
  };
  const starts = (size) =>
    Array.from({ length: Math.ceil(count / size) }, (_, k) => k * size);
  const ttlSeconds = Math.max(1, Math.ceil(ttlMs / 1000));
  const prefix = side.options.prefix;

  switch (side.kind) {
    case 'memory':
      for (const start of starts(10_000))
        await batch(10_000, async (rows) => {
          for (const row of rows)
            await side.backend.create(
              row.sid,
              JSON.parse(row.json),
              ttlSeconds,
            );
        })(start);
      break;
    case 'redis':
      for (const start of starts(REDIS_PER_PIPELINE))
        await batch(REDIS_PER_PIPELINE, async (rows) => {
          const pipeline = server.inspector.pipeline();
          for (const row of rows)
            pipeline.set(prefix + row.sid, row.json, 'EX', ttlSeconds);
          await pipeline.exec();
        })(start);
      break;
    case 'memcached': {
      const stream = await memcachedStream(server.port);
      for (const start of starts(1000))
        await batch(1000, (rows) =>
          stream.write(
            rows
              .map(
                (row) =>
                  `set ${prefix}${row.sid} 0 ${ttlSeconds} ${Buffer.byteLength(row.json)} noreply\r\n${row.json}\r\n`,
              )
              .join(''),
          ),
        )(start);
      await stream.end();
      break;
    }
    case 'sqlite':
    case 'postgres':
    case 'mysql': {
      const file =
        side.kind === 'sqlite'
          ? side.options.url.slice('sqlite:'.length)
          : undefined;
      const db = sqlConnection(cleanup, server, file);
      for (const start of starts(SQL_ROWS_PER_INSERT))
        await batch(SQL_ROWS_PER_INSERT, (rows) =>
          // One multi-row VALUES list (knex writes SQLite's as a compound SELECT, which is
          // limited to 500 terms).
          db.raw(
            `insert into ?? (sid, sess, expires_at, version, sweep_after) values ${rows.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
            [
              side.options.tableName,
              ...rows.flatMap((row) => [
                prefix + row.sid,
                Buffer.from(row.json),
                expiresAt,
                1 + Math.floor(Math.random() * 2 ** 40),
                // As the store writes it: the expiry rounded up to its sweep bucket.
                sweepAfter(expiresAt, sweepBucketMs(side.options.lifetime)),
              ]),
            ],
          ),
        )(start);
      break;
    }
    case 'filesystem': {
      const dir = side.options.directory;
      const expiry = new Date(expiresAt);
      await inParallel(count, FILES_IN_FLIGHT, async (i) => {
        const sid = newSessionId();
        if (ids) ids[i] = sid;
        const path = join(
          dir,
          `${Buffer.from(prefix + sid).toString('base64url')}.session`,
        );
        await writeFile(path, sessionJson(cookie, firstUser + i), {
          mode: 0o600,
        });
        await utimes(path, new Date(), expiry);
      });
      break;
    }
    default:
      throw new Error(`no bulk fill for ${side.kind}`);
  }
  if (ids && side.backend.users)
    await indexFill(side, ids, firstUser, ttlSeconds);
  return ids;
}

/**
 * The user index entries of the sessions `ids`, through the store's own `users.add`: the
 * format of each store's index is its own, and only the memory store keeps one on this
 * branch, so there is no bulk path per format yet (a store's would go here).
 */
async function indexFill(side, ids, firstUser, ttlSeconds) {
  const createdAt = Date.now();
  await inParallel(ids.length, FILES_IN_FLIGHT, (i) =>
    side.backend.users.add(
      userOf(firstUser + i),
      ids[i],
      { createdAt },
      ttlSeconds,
    ),
  );
}

/**
 * A connection to memcached that takes `noreply` writes; `end()` resolves once memcached has
 * read everything sent (its answer to a meta no-op comes after them).
 */
async function memcachedStream(port) {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let reply = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => (reply += chunk));
  return {
    write: (text) =>
      new Promise((resolve) =>
        socket.write(text) ? resolve() : socket.once('drain', resolve),
      ),
    end: () =>
      new Promise((resolve, reject) => {
        socket.once('error', reject);
        const check = () => {
          if (!/MN\r\n$/.test(reply)) return;
          socket.off('data', check);
          socket.end();
          if (reply !== 'MN\r\n')
            return reject(
              new Error(`memcached refused a write: ${reply.slice(0, 200)}`),
            );
          resolve();
        };
        socket.on('data', check);
        socket.write('mn\r\n');
      }),
  };
}
