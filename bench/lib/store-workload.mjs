/**
 * The store-level workload: sessions filled through a store's own `set`, the operations a
 * request makes of it, and one timed run of an operation with a fixed number of calls in
 * flight, with latency percentiles and the CPU the benchmark process (and, where the server is
 * private, the server) spent per call.
 */
import { performance, PerformanceObserver } from 'node:perf_hooks';
import {
  call,
  finishChanged,
  finishUnchanged,
  load,
  newSession,
  newSessionId,
  sessionOf,
} from './store-calls.mjs';

/** The app's default lifetime (31 days). */
export const LIFETIME_MS = 2_678_400 * 1000;
/**
 * The cookie's Max-Age of the sessions the workload makes: a day, not the app's 31 days,
 * because connect-memcached hands memcached a TTL of over 30 days as it is, which memcached
 * reads as a date in 1970: every session would be gone at once (the checks show it).
 */
export const WORKLOAD_MAX_AGE_MS = 86_400 * 1000;
/** Sessions each in-flight caller keeps loaded for the writes of loaded sessions. */
const LOADED_PER_CALLER = 16;

const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** Runs `task(i)` for i in [0, count) with `concurrency` calls in flight. */
export async function inParallel(count, concurrency, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, worker),
  );
}

/**
 * Stores `count` sessions through the side's own `set` (a login each: a new session with a
 * user), and keeps their ids and what each was created with.
 */
export async function fillThroughStore(side, count, concurrency) {
  side.sids = new Array(count);
  side.records = new Array(count);
  await inParallel(count, concurrency, async (i) => {
    const sid = newSessionId();
    const fresh = newSession(
      sid,
      { username: `user-${i}`, views: 0 },
      WORKLOAD_MAX_AGE_MS,
    );
    await call(side.store, 'set', sid, fresh);
    side.sids[i] = sid;
    side.records[i] = JSON.stringify({
      ...fresh,
      cookie: fresh.cookie.toJSON(),
    });
  });
}

/**
 * Loads, for each caller, the sessions it writes: each in-flight caller has sessions of its
 * own, as a visitor's requests rarely overlap.
 */
export async function loadForWrites(side, concurrency) {
  side.loaded = [];
  for (let caller = 0; caller < concurrency; caller++) {
    const mine = [];
    for (let k = 0; k < LOADED_PER_CALLER; k++) {
      const sid = side.sids[caller * LOADED_PER_CALLER + k];
      mine.push({ sid, session: await load(side.store, sid) });
    }
    side.loaded.push({ sessions: mine, next: 0 });
  }
  side.created = [];
}

/** Thrown by an operation that has nothing left to do (every created session destroyed). */
const DONE = Symbol('done');

/**
 * The operations, each as a request makes it. `peer` says what the peer's side of the
 * comparison is; `ours` what our store does for it.
 */
export const OPERATIONS = [
  {
    id: 'get',
    title: 'get',
    ours: 'load (one read)',
    peer: 'get',
    run: async (side) => {
      if (!(await call(side.store, 'get', pick(side.sids))))
        throw new Error('a stored session was not found');
    },
  },
  {
    id: 'write',
    title: 'set of a loaded session',
    ours: 'compare-and-set of the changed keys onto the version loaded',
    peer: 'set (overwrites the whole session)',
    run: async (side, caller) => {
      const own = side.loaded[caller];
      const { sid, session } = own.sessions[own.next++ % own.sessions.length];
      session.views += 1;
      await finishChanged(side.store, sid, session);
    },
  },
  {
    id: 'touch',
    title: 'touch',
    ours: 'expiry refresh of a live session (never re-creates)',
    peer: 'touch',
    run: async (side) => {
      const i = Math.floor(Math.random() * side.sids.length);
      const sid = side.sids[i];
      await finishUnchanged(
        side.store,
        sid,
        sessionOf(side.store, sid, JSON.parse(side.records[i])),
      );
    },
  },
  {
    id: 'page-view',
    title: 'page view (get + touch)',
    ours: 'load, then the touch (skipped until touchAfter by default)',
    peer: 'get, then touch',
    run: async (side) => {
      const sid = pick(side.sids);
      const data = await call(side.store, 'get', sid);
      if (!data) throw new Error('a stored session was not found');
      await finishUnchanged(side.store, sid, sessionOf(side.store, sid, data));
    },
  },
  {
    id: 'create',
    title: 'set of a new session (login)',
    ours: 'create (plus the user index entry where the store keeps one)',
    peer: 'set',
    run: async (side) => {
      const sid = newSessionId();
      // A user of its own for each login: counted before the call, so that the 32 in flight
      // do not share one (counting logins done gave them all the same name).
      side.logins = (side.logins ?? 0) + 1;
      const n = side.logins;
      await call(
        side.store,
        'set',
        sid,
        newSession(
          sid,
          { username: `new-${n}`, views: 0 },
          WORKLOAD_MAX_AGE_MS,
        ),
      );
      side.created.push(sid);
    },
  },
  {
    id: 'destroy',
    title: 'destroy',
    ours: 'delete (plus the user index entry)',
    peer: 'destroy',
    // Destroys exactly what the create run made, so the store keeps its size.
    untilDone: true,
    run: async (side) => {
      const sid = side.created.pop();
      if (sid === undefined) throw DONE;
      await call(side.store, 'destroy', sid);
    },
  },
];

/** The `p`th percentile of ascending `sorted`. */
export const percentile = (sorted, p) =>
  sorted.length === 0
    ? 0
    : sorted[
        Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))
      ];

/**
 * Runs `operation` on `side` with `concurrency` calls in flight for `seconds` (or, for
 * destroy, until nothing is left). `serverCpu()` reads the server's CPU time, where it is the
 * benchmark's own. A call that fails is counted, and its first error kept.
 */
export async function measure(
  side,
  operation,
  { seconds, concurrency, serverCpu },
) {
  const latencies = [];
  let errors = 0;
  let firstError;
  let done = false;
  const serverBefore = serverCpu ? await serverCpu() : 0;
  // Time the main thread stood in garbage collection meanwhile (pauses; part of its CPU time).
  let gcMs = 0;
  const gc = new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) gcMs += entry.duration;
  });
  gc.observe({ entryTypes: ['gc'] });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = operation.untilDone ? Infinity : started + seconds * 1000;
  const caller = async (index) => {
    while (!done && performance.now() < deadline) {
      const t = performance.now();
      try {
        await operation.run(side, index);
        latencies.push(performance.now() - t);
      } catch (err) {
        if (err === DONE) return void (done = true);
        errors++;
        firstError ??= err;
      }
    }
  };
  // A call that never answers must not hang the benchmark.
  let watchdog;
  const limit = (operation.untilDone ? 120 : seconds + 30) * 1000;
  await Promise.race([
    Promise.all(Array.from({ length: concurrency }, (_, i) => caller(i))),
    new Promise((_, reject) => {
      watchdog = setTimeout(
        () =>
          reject(
            new Error(
              `${side.label}: ${operation.id} calls got no answer for ${limit / 1000} s`,
            ),
          ),
        limit,
      );
    }),
  ]).finally(() => {
    done = true;
    clearTimeout(watchdog);
  });
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  // Node makes a GC's entry in the event loop's next check phase, which a store answering
  // from memory (promises only) never let come while it ran: one turn, then the entries.
  await new Promise((resolve) => setImmediate(resolve));
  for (const entry of gc.takeRecords()) gcMs += entry.duration;
  gc.disconnect();
  const serverMicros = serverCpu
    ? (await serverCpu()) - serverBefore
    : undefined;
  const count = latencies.length;
  latencies.sort((a, b) => a - b);
  return {
    calls: count,
    seconds: elapsed,
    opsPerSec: count / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuMicrosPerOp: count > 0 ? (cpu.user + cpu.system) / count : 0,
    gcMicrosPerOp: count > 0 ? (gcMs * 1000) / count : 0,
    serverCpuMicrosPerOp:
      serverMicros === undefined || count === 0
        ? undefined
        : serverMicros / count,
    errors,
    firstError:
      firstError && String(firstError.message ?? firstError).slice(0, 200),
  };
}
