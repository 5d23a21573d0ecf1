/**
 * `npm run bench [-- --quick]`: the project's app against a hand-written Express baseline, both
 * in production mode on a private redis-server, loaded with autocannon in interleaved rounds.
 * Prints a table and writes bench/results/latest.json and bench/results/latest.svg.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { renderChart } from './lib/chart.mjs';
import { cookieHeader, loggedInVisitor, PROXY_HEADERS } from './lib/clients.mjs';
import { BENCH_SECRET, benchSettings, CASES, loadFor, loadRun, machine, median, medianOf } from './lib/measure.mjs';
import { rssOf, startNodeServer, startRedis } from './lib/processes.mjs';

const SETTINGS = benchSettings({ rounds: 3, durationSeconds: 5, warmupSeconds: 2 });
const { quick } = SETTINGS;
SETTINGS.memoryRequests = quick ? [2_000, 20_000] : [20_000, 200_000];
/** What the README promises, checked against the measurements (not asserted in tests). */
const TARGETS = { loggedInGetRatio: 1.0, otherRatio: 0.9, anonymousCommands: 0, loggedInGetCommands: 1, rssGrowth: 1.2 };

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const log = (line) => process.stdout.write(`${line}\n`);

/** Commands the server ran, summed over every command but the INFO that reads them. */
async function commandTotal(redis) {
  const info = await redis.info('commandstats');
  return [...info.matchAll(/^cmdstat_([\w|]+):calls=(\d+)/gm)]
    .filter(([, name]) => name !== 'info')
    .reduce((sum, [, , calls]) => sum + Number(calls), 0);
}

async function measure(target, testCase, redis, seconds) {
  const options = { ...(await loadFor(target, testCase, SETTINGS.connections)), duration: seconds };
  const before = await commandTotal(redis);
  const m = await loadRun(target, options, testCase.expect);
  const commands = (await commandTotal(redis)) - before;
  return { ...m, commandsPerRequest: m.sent > 0 ? commands / m.sent : 0 };
}

/** RSS after `counts[0]` and after `counts[1]` logged-in page views, to show memory stays flat. */
async function memoryGrowth(target) {
  const visitor = await loggedInVisitor(target.url, 'memory');
  const options = {
    url: `${target.url}/login/`,
    connections: SETTINGS.connections,
    headers: { ...PROXY_HEADERS, cookie: cookieHeader(visitor.jar) },
  };
  const [first, last] = SETTINGS.memoryRequests;
  await autocannon({ ...options, amount: first });
  const rssFirst = await rssOf(target.pid);
  await autocannon({ ...options, amount: last - first });
  const rssLast = await rssOf(target.pid);
  return { afterRequests: [first, last], rssMiB: [rssFirst / 2 ** 20, rssLast / 2 ** 20], growth: rssLast / rssFirst };
}

/** The same table in Markdown, for the README. */
function markdown(result) {
  const m = result.machine;
  const lines = [
    `Measured ${result.date.slice(0, 10)} on ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}; ` +
      `${result.settings.rounds} interleaved rounds of ${result.settings.durationSeconds} s, ${result.settings.connections} connections, medians.`,
    '',
    '| case | app req/s | baseline req/s | ratio | app p50/p99 ms | baseline p50/p99 ms | app / baseline Redis cmds per req | app / baseline CPU µs per req |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...result.cases.map((c) => {
      const a = c.median.app;
      const b = c.median.baseline;
      return `| ${c.title} | ${Math.round(a.rps)} | ${Math.round(b.rps)} | ${c.ratio.toFixed(2)}× | ${a.p50}/${a.p99} | ${b.p50}/${b.p99} | ${a.commandsPerRequest.toFixed(2)} / ${b.commandsPerRequest.toFixed(2)} | ${Math.round(a.cpuMicrosPerRequest)} / ${Math.round(b.cpuMicrosPerRequest)} |`;
    }),
    '',
    `Memory (RSS of the app): ${result.memory.app.rssMiB[0].toFixed(1)} MiB after ${result.memory.app.afterRequests[0]} logged-in page views, ` +
      `${result.memory.app.rssMiB[1].toFixed(1)} MiB after ${result.memory.app.afterRequests[1]} (×${result.memory.app.growth.toFixed(2)}).`,
  ];
  return `${lines.join('\n')}\n`;
}

function table(result) {
  const rows = result.cases.map((c) => ({
    case: c.title,
    'app req/s': Math.round(c.median.app.rps),
    'base req/s': Math.round(c.median.baseline.rps),
    ratio: Number(c.ratio.toFixed(2)),
    'app p50/p99 ms': `${c.median.app.p50}/${c.median.app.p99}`,
    'base p50/p99 ms': `${c.median.baseline.p50}/${c.median.baseline.p99}`,
    'app cmds/req': Number(c.median.app.commandsPerRequest.toFixed(2)),
    'base cmds/req': Number(c.median.baseline.commandsPerRequest.toFixed(2)),
    'app cpu µs/req': Math.round(c.median.app.cpuMicrosPerRequest),
    'base cpu µs/req': Math.round(c.median.baseline.cpuMicrosPerRequest),
  }));
  console.table(rows);
}

async function main() {
  const started = Date.now();
  log(`bench: ${quick ? 'quick smoke run' : 'full run (a few minutes)'}; starting a private redis-server and both apps`);
  const redisServer = await startRedis();
  const redis = new Redis(redisServer.url);
  const common = { NODE_ENV: 'production', REDIS_URL: redisServer.url, SESSION_SECRET: BENCH_SECRET, SESSION_KEY_PREFIX: 'session:' };
  const app = await startNodeServer('app', root('dist/main.js'), { ...common, SESSION_TYPE: 'redis', TRUST_PROXY: '1' });
  const baseline = await startNodeServer('baseline', root('bench/baseline/server.mjs'), common);
  const targets = { app, baseline };
  try {
    const cases = [];
    const totalRuns = CASES.length * SETTINGS.rounds * 2;
    let run = 0;
    for (const testCase of CASES) {
      for (const target of [app, baseline]) await measure(target, testCase, redis, SETTINGS.warmupSeconds);
      const rounds = [];
      for (let round = 1; round <= SETTINGS.rounds; round++) {
        const pair = {};
        for (const name of ['app', 'baseline']) {
          pair[name] = await measure(targets[name], testCase, redis, SETTINGS.durationSeconds);
          run++;
          const m = pair[name];
          log(
            `[${run}/${totalRuns}] ${testCase.title.padEnd(26)} ${name.padEnd(8)} round ${round}: ` +
              `${Math.round(m.rps)} req/s, p99 ${m.p99} ms, ${m.commandsPerRequest.toFixed(2)} cmds/req, ${Math.round(m.cpuMicrosPerRequest)} µs CPU/req` +
              (m.expectedStatusShare < 0.99 ? `  WARNING: only ${(m.expectedStatusShare * 100).toFixed(1)}% ${testCase.expect}` : ''),
          );
        }
        pair.ratio = pair.app.rps / pair.baseline.rps;
        rounds.push(pair);
      }
      const summarize = (name) => ({
        ...medianOf(rounds.map((r) => r[name]), ['rps', 'p50', 'p99', 'commandsPerRequest', 'cpuMicrosPerRequest']),
        expectedStatusShare: Math.min(...rounds.map((r) => r[name].expectedStatusShare)),
      });
      cases.push({ ...testCase, rounds, median: { app: summarize('app'), baseline: summarize('baseline') }, ratio: median(rounds.map((r) => r.ratio)) });
    }
    log('memory: logged-in page views, RSS of each process');
    const memory = { app: await memoryGrowth(app), baseline: await memoryGrowth(baseline) };
    for (const [name, m] of Object.entries(memory)) {
      log(`  ${name}: ${m.rssMiB[0].toFixed(1)} MiB after ${m.afterRequests[0]}, ${m.rssMiB[1].toFixed(1)} MiB after ${m.afterRequests[1]} (×${m.growth.toFixed(2)})`);
    }
    const byId = Object.fromEntries(cases.map((c) => [c.id, c]));
    const checks = {
      loggedInGetRatio: byId['logged-in-get-login'].ratio >= TARGETS.loggedInGetRatio,
      otherRatios: cases.filter((c) => c.id !== 'logged-in-get-login').every((c) => c.ratio >= TARGETS.otherRatio),
      anonymousCommands: byId['anonymous-get-login'].median.app.commandsPerRequest === TARGETS.anonymousCommands,
      loggedInGetCommands: byId['logged-in-get-login'].median.app.commandsPerRequest <= TARGETS.loggedInGetCommands,
      memory: memory.app.growth <= TARGETS.rssGrowth,
      statuses: cases.every((c) => c.median.app.expectedStatusShare >= 0.99 && c.median.baseline.expectedStatusShare >= 0.99),
    };
    const result = { date: new Date().toISOString(), machine: machine(), settings: SETTINGS, targets: TARGETS, checks, cases, memory, seconds: Math.round((Date.now() - started) / 1000) };
    table(result);
    for (const [name, ok] of Object.entries(checks)) log(`  target ${name}: ${ok ? 'met' : 'MISSED'}`);
    await mkdir(root('bench/results'), { recursive: true });
    const stem = quick ? 'quick' : 'latest';
    await writeFile(root(`bench/results/${stem}.json`), `${JSON.stringify(result, null, 2)}\n`);
    await writeFile(root(`bench/results/${stem}.svg`), renderChart(result));
    await writeFile(root(`bench/results/${stem}.md`), markdown(result));
    log(`wrote bench/results/${stem}.json, .svg and .md in ${result.seconds} s`);
  } finally {
    await app.stop();
    await baseline.stop();
    redis.disconnect();
    await redisServer.stop();
  }
}

await main();
