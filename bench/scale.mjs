/**
 * `npm run bench:scale [-- --quick] [--stores=redis,sqlite] [--large=1000000] [--sweep=1000000]`:
 * each of our stores with few and with many sessions stored (1,000 and 1,000,000; 100,000 on
 * filesystem), filled fast in the store's own format: a logged-in page view (get + touch) and
 * a login (create + destroy) in interleaved rounds, the per-user index (`UserSessions.list`
 * and `revokeAll` for a user of three sessions among everybody else's), and, on the stores
 * that sweep (sql, filesystem), 1,000,000 expired sessions deleted while page views arrive at a
 * steady rate. Writes bench/results/scale.{json,md} (scale-quick.* with --quick).
 */
import os from 'node:os';
import { Logger } from '@nestjs/common';
import { numberOption, quick, storeKinds } from './lib/args.mjs';
import { createCleanup, log, runBenchmark } from './lib/cleanup.mjs';
import { machine, median } from './lib/measure.mjs';
import { openOurStore } from './lib/our-store.mjs';
import { writeResults } from './lib/results.mjs';
import { bulkFill } from './lib/scale-fill.mjs';
import {
  endLogins,
  LOGIN,
  PAGE_VIEW,
  sweepUnderLoad,
  userIndexTimes,
} from './lib/scale-measures.mjs';
import { scaleMarkdown } from './lib/scale-report.mjs';
import { call } from './lib/store-calls.mjs';
import { KIND_TITLES, startStoreServer } from './lib/store-servers.mjs';
import { measure } from './lib/store-workload.mjs';

const SETTINGS = {
  quick,
  rounds: numberOption('rounds', quick ? 1 : 5),
  seconds: numberOption('seconds', quick ? 1 : 2),
  warmupSeconds: quick ? 0.3 : 1,
  concurrency: 32,
  small: 1000,
  large: numberOption('large', quick ? 20_000 : 1_000_000),
  largeFiles: numberOption('large-files', quick ? 10_000 : 100_000),
  sweep: numberOption('sweep', quick ? 20_000 : 1_000_000),
  sweepFiles: numberOption('sweep-files', quick ? 10_000 : 1_000_000),
  /** Page views a second during the sweep measurement: a steady load, not a saturating one. */
  rate: numberOption('rate', 200),
  quietSeconds: quick ? 3 : 10,
  listRuns: quick ? 20 : 200,
  revokeRuns: quick ? 5 : 30,
};
/** Free memory a large fill of an in-memory server (Redis, memcached, memory) needs first. */
const MEMORY_NEEDED = 3 * 2 ** 30;
const SWEEPING = new Set(['sqlite', 'postgres', 'mysql', 'filesystem']);
Logger.overrideLogger(['warn', 'error']);

const inMemory = (kind) => ['memory', 'redis', 'memcached'].includes(kind);

/** Our store of `kind` filled with `count` sessions, on a server of its own where size is per server. */
async function filledStore(kind, label, count, cleanup, shared) {
  const server =
    shared ??
    (await startStoreServer(
      kind,
      cleanup,
      kind === 'memcached' ? { memoryMB: 2048 } : {},
    ));
  const side = await openOurStore(kind, server, cleanup, {
    label,
    // Every page view's touch reaches the store; no sweep but the one measured.
    env: { SESSION_TOUCH_AFTER: '0', SESSION_CLEANUP_INTERVAL: '0' },
    options: kind === 'memory' ? { maxSessions: 2 * count + 100_000 } : {},
  });
  side.label = `${count.toLocaleString('en-US')} sessions`;
  side.server = server;
  if (inMemory(kind) && count > 100_000 && os.freemem() < MEMORY_NEEDED)
    throw new Error(
      `${kind}: ${(os.freemem() / 2 ** 30).toFixed(1)} GiB free, too little for ${count} sessions in memory`,
    );
  const t = Date.now();
  side.sids = await bulkFill(side, server, cleanup, { count });
  side.fillSeconds = (Date.now() - t) / 1000;
  // The fill must have landed where the store reads: a sample, through the store.
  for (let k = 0; k < 50; k++) {
    const sid = side.sids[Math.floor(Math.random() * count)];
    if (!(await call(side.store, 'get', sid)))
      throw new Error(
        `${kind}: a session the fill wrote does not load (${side.label})`,
      );
  }
  log(
    `  ${KIND_TITLES[kind]}: ${side.label} filled in ${side.fillSeconds.toFixed(1)} s`,
  );
  return side;
}

async function scaleKind(kind, outer) {
  const cleanup = createCleanup('bench-scale');
  outer.add(`clean up ${kind}`, () => cleanup.run());
  try {
    const large = kind === 'filesystem' ? SETTINGS.largeFiles : SETTINGS.large;
    // Redis and memcached: a server per size (a keyspace's size is the server's); the others
    // share theirs (a table or a folder per size).
    const shared = inMemory(kind)
      ? undefined
      : await startStoreServer(kind, cleanup);
    const sides = [
      await filledStore(kind, 'small', SETTINGS.small, cleanup, shared),
      await filledStore(kind, 'large', large, cleanup, shared),
    ];
    const run = (side, operation, seconds) =>
      measure(side, operation, {
        seconds,
        concurrency: SETTINGS.concurrency,
        serverCpu: side.server.cpuMicros,
      });
    for (const side of sides)
      for (const operation of [PAGE_VIEW, LOGIN]) {
        side.mine = [];
        await run(side, operation, SETTINGS.warmupSeconds);
        await endLogins(side);
      }
    const rounds = [];
    for (let round = 0; round < SETTINGS.rounds; round++) {
      const byOp = { [PAGE_VIEW.id]: {}, [LOGIN.id]: {} };
      for (let k = 0; k < sides.length; k++) {
        const side = sides[(round + k) % sides.length];
        for (const operation of [PAGE_VIEW, LOGIN]) {
          side.mine = [];
          const m = await run(side, operation, SETTINGS.seconds);
          await endLogins(side);
          if (m.errors > 0)
            throw new Error(
              `${kind} ${side.label} ${operation.id}: ${m.errors} failed calls (${m.firstError})`,
            );
          byOp[operation.id][side.label] = m;
        }
      }
      rounds.push(byOp);
      log(`  ${KIND_TITLES[kind]}: round ${round + 1}/${SETTINGS.rounds} done`);
    }
    const [small, big] = sides;
    const summary = (op) => ({
      small: median(rounds.map((r) => r[op][small.label].opsPerSec)),
      large: median(rounds.map((r) => r[op][big.label].opsPerSec)),
      smallP99: median(rounds.map((r) => r[op][small.label].p99)),
      largeP99: median(rounds.map((r) => r[op][big.label].p99)),
      ratio: median(
        rounds.map(
          (r) => r[op][big.label].opsPerSec / r[op][small.label].opsPerSec,
        ),
      ),
      // Steadier than ops/s on a shared machine: the process's own CPU time per call.
      smallCpu: median(rounds.map((r) => r[op][small.label].cpuMicrosPerOp)),
      largeCpu: median(rounds.map((r) => r[op][big.label].cpuMicrosPerOp)),
      // Of which the main thread stood in garbage collection: a store that keeps its
      // sessions in the process (memory) gives every full collection them to walk.
      smallGc: median(rounds.map((r) => r[op][small.label].gcMicrosPerOp)),
      largeGc: median(rounds.map((r) => r[op][big.label].gcMicrosPerOp)),
    });
    const result = {
      kind,
      title: KIND_TITLES[kind],
      sizes: { small: SETTINGS.small, large },
      fillSeconds: { small: small.fillSeconds, large: big.fillSeconds },
      rounds,
      pageView: summary(PAGE_VIEW.id),
      login: summary(LOGIN.id),
    };
    if (big.backend.users) {
      result.userIndex = {};
      for (const side of sides)
        result.userIndex[side === small ? 'small' : 'large'] =
          await userIndexTimes(side, {
            runs: SETTINGS.listRuns,
            revokes: SETTINGS.revokeRuns,
          });
    } else {
      result.userIndex = {
        missing: 'this store keeps no per-user index on this branch',
      };
    }
    log(
      `  ${KIND_TITLES[kind]}: user index ${result.userIndex.missing ?? 'measured'}`,
    );
    if (SWEEPING.has(kind)) {
      const expired =
        kind === 'filesystem' ? SETTINGS.sweepFiles : SETTINGS.sweep;
      const t = Date.now();
      await bulkFill(big, big.server, cleanup, {
        count: expired,
        ttlMs: -3600_000,
        keepIds: false,
        firstUser: large,
      });
      const fillSeconds = (Date.now() - t) / 1000;
      log(
        `  ${KIND_TITLES[kind]}: ${expired} expired sessions written in ${fillSeconds.toFixed(1)} s; sweeping under load`,
      );
      result.sweep = {
        expired,
        fillSeconds,
        ...(await sweepUnderLoad(big, {
          rate: SETTINGS.rate,
          quietSeconds: SETTINGS.quietSeconds,
          expected: expired,
        })),
      };
    }
    return result;
  } finally {
    await cleanup.run();
  }
}

async function main(cleanup) {
  const started = Date.now();
  const kinds = storeKinds();
  const loadBefore = os.loadavg();
  log(
    `bench:scale: ${quick ? 'quick run' : 'full run'} of ${kinds.join(', ')}; ${SETTINGS.small} vs ${SETTINGS.large} sessions ` +
      `(filesystem ${SETTINGS.largeFiles}); load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const results = [];
  for (const kind of kinds) {
    log(`${KIND_TITLES[kind]}:`);
    results.push(await scaleKind(kind, cleanup));
  }
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    settings: SETTINGS,
    loadAverage: { before: loadBefore, after: os.loadavg() },
    kinds: results,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  const md = scaleMarkdown(result);
  log(`\n${md}`);
  await writeResults(quick ? 'scale-quick' : 'scale', { json: result, md });
  log(`took ${result.seconds} s`);
}

await runBenchmark('bench-scale', main);
