/**
 * What the scale benchmark measures on one of our stores: a login at the Store interface, the
 * per-user index through the `UserSessions` service, and an expiry sweep under a steady load.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { UserSessions } from '../../packages/nest-server-session/dist/index.js';
import { pacedLoad } from './paced-load.mjs';
import { call, newSession, newSessionId } from './store-calls.mjs';
import {
  OPERATIONS,
  percentile,
  WORKLOAD_MAX_AGE_MS,
} from './store-workload.mjs';

export const PAGE_VIEW = OPERATIONS.find((o) => o.id === 'page-view');

/** A login as the store sees it: a new session with a user, and the caller's previous one destroyed. */
export const LOGIN = {
  id: 'login',
  title: 'login (create + destroy)',
  run: async (side, caller) => {
    const sid = newSessionId();
    const fresh = newSession(
      sid,
      { username: `login-${caller}`, views: 0 },
      WORKLOAD_MAX_AGE_MS,
    );
    await call(side.store, 'set', sid, fresh);
    const previous = side.mine[caller];
    side.mine[caller] = sid;
    if (previous) await call(side.store, 'destroy', previous);
  },
};

/** Destroys what {@link LOGIN} left, so that the store is back at its size. */
export async function endLogins(side) {
  for (const sid of side.mine ?? [])
    if (sid) await call(side.store, 'destroy', sid);
  side.mine = [];
}

const timings = (values) => {
  const sorted = values.toSorted((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    runs: sorted.length,
  };
};

/**
 * `UserSessions.list` and `revokeAll` for one user with three sessions, as the demo's
 * /sessions/ page calls them: `runs` lists and `revokes` revocations (each of three sessions
 * made again untimed), in ms.
 */
export async function userIndexTimes(side, { runs, revokes }) {
  const users = new UserSessions(side.handle, side.options);
  const user = `bench-user-${newSessionId().slice(0, 8)}`;
  const loginThree = async () => {
    for (let k = 0; k < 3; k++) {
      const sid = newSessionId();
      await call(
        side.store,
        'set',
        sid,
        newSession(sid, { username: user, views: 0 }, WORKLOAD_MAX_AGE_MS),
      );
    }
  };
  await loginThree();
  const listed = [];
  for (let run = 0; run < runs; run++) {
    const t = performance.now();
    const sessions = await users.list(user);
    listed.push(performance.now() - t);
    if (sessions.length !== 3)
      throw new Error(
        `list found ${sessions.length} sessions of the user, not 3`,
      );
  }
  const revoked = [];
  for (let run = 0; run < revokes; run++) {
    if (run > 0) await loginThree();
    const t = performance.now();
    const ended = await users.revokeAll(user);
    revoked.push(performance.now() - t);
    if (ended !== 3)
      throw new Error(`revokeAll ended ${ended} sessions, not 3`);
  }
  return { list: timings(listed), revokeAll: timings(revoked) };
}

/**
 * Page views at `rate` a second on `side` for `quietSeconds`, then again while the store
 * deletes its expired sessions (`removeExpired`, in its default batches, paced, as the app's
 * periodic sweep runs it): latencies without and during the sweep, and the sweep's pace.
 */
export async function sweepUnderLoad(side, { rate, quietSeconds, expected }) {
  const view = () => PAGE_VIEW.run(side);
  const without = await pacedLoad(view, {
    rate,
    until: sleep(quietSeconds * 1000),
  });
  const started = performance.now();
  const sweep = side.handle.removeExpired({ paced: true });
  const during = await pacedLoad(view, {
    rate,
    until: sweep.catch(() => undefined),
  });
  const removed = await sweep;
  const seconds = (performance.now() - started) / 1000;
  if (removed < expected)
    throw new Error(
      `the sweep removed ${removed} sessions, fewer than the ${expected} expired`,
    );
  return { removed, seconds, perSecond: removed / seconds, without, during };
}
