/**
 * `npm run bench:stores [-- --quick] [--stores=redis,sqlite] [--rounds=5] [--seconds=1.5]`:
 * each of our stores, exactly as the app builds it, against the peers of its kind on the same
 * server, at the express-session `Store` interface: 10,000 stored sessions, 32 calls in flight,
 * get / set of a loaded session / touch / page view / create / destroy, in interleaved rounds
 * (each round runs every side once per operation, starting one side further each round);
 * medians, ops/s, ours ÷ peer, CPU per call. Then the same correctness checks on both sides.
 * Writes bench/results/store-level.{json,md,svg} (store-level-quick.* with --quick).
 */
import os from 'node:os';
import { Logger } from '@nestjs/common';
import { numberOption, quick, storeKinds } from './lib/args.mjs';
import { renderRatioChart } from './lib/chart.mjs';
import { createCleanup, log, runBenchmark } from './lib/cleanup.mjs';
import { machine, median } from './lib/measure.mjs';
import { writeResults } from './lib/results.mjs';
import { checkSide } from './lib/store-checks.mjs';
import { markdown, printSummary } from './lib/store-report.mjs';
import { openSides } from './lib/store-sides.mjs';
import { KIND_TITLES, startStoreServer } from './lib/store-servers.mjs';
import {
  fillThroughStore,
  loadForWrites,
  measure,
  OPERATIONS,
} from './lib/store-workload.mjs';

const SETTINGS = {
  quick,
  rounds: numberOption('rounds', quick ? 1 : 5),
  seconds: numberOption('seconds', quick ? 0.3 : 1.5),
  warmupSeconds: quick ? 0.2 : 0.5,
  concurrency: 32,
  sessions: numberOption('sessions', quick ? 1000 : 10_000),
};
// Our store logs through Nest; its debug lines (a dropped refresh of an ended session, which the
// checks provoke) are not the benchmark's output.
Logger.overrideLogger(['warn', 'error']);

async function benchKind(kind, outer) {
  // Everything of this kind is stopped before the next kind starts (and on failure, by `outer`).
  const cleanup = createCleanup('bench-store-level');
  outer.add(`clean up ${kind}`, () => cleanup.run());
  try {
    const title = KIND_TITLES[kind];
    const server = await startStoreServer(kind, cleanup);
    const sides = await openSides(kind, server, cleanup);
    const setup = {};
    for (const side of sides) {
      const t = Date.now();
      await fillThroughStore(side, SETTINGS.sessions, SETTINGS.concurrency);
      await loadForWrites(side, SETTINGS.concurrency);
      setup[side.label] = (Date.now() - t) / 1000;
      log(
        `  ${title}: ${side.label} filled with ${SETTINGS.sessions} sessions in ${setup[side.label].toFixed(1)} s`,
      );
    }
    const checks = {};
    const found = await Promise.all(sides.map((side) => checkSide(side)));
    sides.forEach((side, i) => (checks[side.label] = found[i]));
    log(`  ${title}: checks done`);

    const run = (side, operation, seconds) =>
      measure(side, operation, {
        seconds,
        concurrency: SETTINGS.concurrency,
        serverCpu: server.cpuMicros,
      });
    for (const operation of OPERATIONS)
      for (const side of sides)
        if (side.operations.includes(operation))
          await run(side, operation, SETTINGS.warmupSeconds);

    const rounds = [];
    for (let round = 0; round < SETTINGS.rounds; round++) {
      const byOp = {};
      for (const operation of OPERATIONS) {
        const taking = sides.filter((side) =>
          side.operations.includes(operation),
        );
        byOp[operation.id] = {};
        for (let k = 0; k < taking.length; k++) {
          const side = taking[(round + k) % taking.length];
          const m = await run(side, operation, SETTINGS.seconds);
          byOp[operation.id][side.label] = m;
          if (m.errors > 0)
            log(
              `  ${title} ${side.label} ${operation.id}: ${m.errors} failed calls (${m.firstError})`,
            );
        }
      }
      rounds.push(byOp);
      log(`  ${title}: round ${round + 1}/${SETTINGS.rounds} done`);
    }
    return {
      kind,
      title,
      sides: sides.map((s) => ({
        label: s.label,
        ours: s.ours,
        package: s.package,
      })),
      setupSeconds: setup,
      checks,
      rounds,
      comparisons: compare(sides, rounds),
    };
  } finally {
    await cleanup.run();
  }
}

/** Per operation, each of ours against each peer: medians over rounds, and of each round's ratio. */
function compare(sides, rounds) {
  const med = (label, op, field) =>
    median(
      rounds.map((r) => r[op][label]?.[field]).filter((v) => v !== undefined),
    );
  const rows = [];
  for (const operation of OPERATIONS) {
    const ours = sides.filter(
      (s) => s.ours && s.operations.includes(operation),
    );
    const peers = sides.filter((s) => !s.ours);
    for (const our of ours)
      for (const peer of peers) {
        const stats = (label) => ({
          opsPerSec: med(label, operation.id, 'opsPerSec'),
          p50: med(label, operation.id, 'p50'),
          p99: med(label, operation.id, 'p99'),
          cpuMicrosPerOp: med(label, operation.id, 'cpuMicrosPerOp'),
          serverCpuMicrosPerOp: med(
            label,
            operation.id,
            'serverCpuMicrosPerOp',
          ),
          errors: rounds.reduce(
            (n, r) => n + (r[operation.id][label]?.errors ?? 0),
            0,
          ),
        });
        rows.push({
          operation: operation.id,
          title: operation.title,
          oursLabel: our.label,
          peer: peer.label,
          ours: stats(our.label),
          theirs: stats(peer.label),
          ratio: median(
            rounds.map(
              (r) =>
                r[operation.id][our.label].opsPerSec /
                r[operation.id][peer.label].opsPerSec,
            ),
          ),
          cpuRatio: median(
            rounds.map(
              (r) =>
                r[operation.id][our.label].cpuMicrosPerOp /
                r[operation.id][peer.label].cpuMicrosPerOp,
            ),
          ),
        });
      }
  }
  return rows;
}

async function main(cleanup) {
  const started = Date.now();
  const kinds = storeKinds();
  const loadBefore = os.loadavg();
  log(
    `bench:stores: ${quick ? 'quick smoke run' : 'full run'} of ${kinds.join(', ')}; ${SETTINGS.rounds} round(s) of ${SETTINGS.seconds} s, ` +
      `${SETTINGS.sessions} sessions, ${SETTINGS.concurrency} calls in flight; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')}`,
  );
  const results = [];
  for (const kind of kinds) {
    log(`${KIND_TITLES[kind]}:`);
    results.push(await benchKind(kind, cleanup));
  }
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    settings: SETTINGS,
    operations: OPERATIONS.map(({ id, title, ours, peer }) => ({
      id,
      title,
      ours,
      peer,
    })),
    loadAverage: { before: loadBefore, after: os.loadavg() },
    kinds: results,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  printSummary(result);
  const stem = quick ? 'store-level-quick' : 'store-level';
  await writeResults(stem, {
    json: result,
    md: markdown(result, `${stem}.svg`),
    svg: renderRatioChart(result),
  });
  log(`took ${result.seconds} s`);
}

await runBenchmark('bench-store-level', main);
