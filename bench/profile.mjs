/**
 * `npm run bench:profile -- --stores=redis,sqlite [--ops=get,write] [--seconds=4]`: CPU
 * profiles of the benchmark process while one side of the store-level benchmark runs one
 * operation (32 calls in flight, 10,000 stored sessions), for our store and each peer of its
 * kind: where each spends its CPU, per call, by module and by function. Keeps the raw
 * profiles in bench/profiles/ (for Chrome DevTools; not in git) and writes
 * bench/results/profiles.{json,md} (profiles-quick.* with --quick).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Logger } from '@nestjs/common';
import { numberOption, option, quick, storeKinds } from './lib/args.mjs';
import { createCleanup, log, runBenchmark } from './lib/cleanup.mjs';
import { profiled, summarize } from './lib/cpu-profile.mjs';
import { machine } from './lib/measure.mjs';
import { writeResults } from './lib/results.mjs';
import { KIND_TITLES, startStoreServer } from './lib/store-servers.mjs';
import { openSides } from './lib/store-sides.mjs';
import {
  fillThroughStore,
  loadForWrites,
  measure,
  OPERATIONS,
} from './lib/store-workload.mjs';

const SETTINGS = {
  quick,
  seconds: numberOption('seconds', quick ? 1 : 4),
  concurrency: 32,
  sessions: numberOption('sessions', quick ? 1000 : 10_000),
  ops: (option('ops') ?? 'get,write').split(','),
};
const PROFILES = fileURLToPath(new URL('./profiles/', import.meta.url));
Logger.overrideLogger(['warn', 'error']);

async function profileKind(kind, outer) {
  const cleanup = createCleanup('bench-profile');
  outer.add(`clean up ${kind}`, () => cleanup.run());
  try {
    const server = await startStoreServer(kind, cleanup);
    const runs = [];
    for (const side of await openSides(kind, server, cleanup)) {
      const operations = side.operations.filter((o) =>
        SETTINGS.ops.includes(o.id),
      );
      if (operations.length === 0) continue;
      await fillThroughStore(side, SETTINGS.sessions, SETTINGS.concurrency);
      await loadForWrites(side, SETTINGS.concurrency);
      for (const operation of operations) {
        const settings = {
          seconds: SETTINGS.seconds,
          concurrency: SETTINGS.concurrency,
        };
        await measure(side, operation, { ...settings, seconds: 1 });
        let m;
        const profile = await profiled(
          async () => (m = await measure(side, operation, settings)),
        );
        const file = `${kind}-${side.label.replace(/[^a-z0-9]+/gi, '_')}-${operation.id}.cpuprofile`;
        await writeFile(`${PROFILES}${file}`, JSON.stringify(profile));
        runs.push({
          side: side.label,
          operation: operation.id,
          calls: m.calls,
          opsPerSec: m.opsPerSec,
          cpuMicrosPerOp: m.cpuMicrosPerOp,
          file,
          ...summarize(profile, m.cpuMicrosPerOp),
        });
        log(
          `  ${KIND_TITLES[kind]}: ${side.label} ${operation.id}: ${Math.round(m.opsPerSec)} ops/s, ${Math.round(m.cpuMicrosPerOp)} µs CPU/op`,
        );
      }
    }
    return { kind, title: KIND_TITLES[kind], runs };
  } finally {
    await cleanup.run();
  }
}

function markdown(result) {
  const us = (v) => (v < 10 ? v.toFixed(1) : Math.round(v));
  const lines = [
    `CPU profiles of the benchmark process, ${result.date.slice(0, 10)}, Node ${result.machine.node}: ${result.settings.concurrency} calls in flight, ` +
      `${result.settings.sessions} stored sessions, ${result.settings.seconds} s per side and operation, sampled every 100 µs. ` +
      'Self time as a share of the busy samples (idle time, waiting for the server, left out) and as that share of the CPU time per call, in µs; most first.',
  ];
  for (const kind of result.kinds)
    for (const run of kind.runs) {
      lines.push(
        '',
        `### ${kind.title}: ${run.side}, ${run.operation} (${Math.round(run.opsPerSec)} ops/s, ${us(run.cpuMicrosPerOp)} µs CPU per call)`,
        '',
        `By module: ${run.modules.map((m) => `${m.name} ${us(m.microsPerCall)}`).join(' · ')}`,
        '',
        '| function | µs/call | share |',
        '|---|---:|---:|',
        ...run.functions.map(
          (f) =>
            `| \`${f.name}\` | ${us(f.microsPerCall)} | ${Math.round(f.share * 100)}% |`,
        ),
      );
    }
  return `${lines.join('\n')}\n`;
}

async function main(cleanup) {
  const started = Date.now();
  await mkdir(PROFILES, { recursive: true });
  const kinds = storeKinds();
  const results = [];
  for (const kind of kinds) {
    log(`${KIND_TITLES[kind]}:`);
    results.push(await profileKind(kind, cleanup));
  }
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    settings: SETTINGS,
    operations: OPERATIONS.filter((o) => SETTINGS.ops.includes(o.id)).map(
      (o) => o.id,
    ),
    kinds: results,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  await writeResults(quick ? 'profiles-quick' : 'profiles', {
    json: result,
    md: markdown(result),
  });
  log(`took ${result.seconds} s`);
}

await runBenchmark('bench-profile', main);
