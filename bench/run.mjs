/**
 * `npm run bench [-- --quick]`: the project's app against a hand-written Express baseline, both
 * in production mode on a private redis-server, loaded with autocannon in interleaved rounds;
 * then the app's logged-in page views on a private 3-master Redis Cluster against the same on
 * one Redis, to show what the cluster client costs.
 * Prints a table and writes bench/results/latest.json and bench/results/latest.svg.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { renderChart } from './lib/chart.mjs';
import { cookieHeader, loggedInVisitor, PROXY_HEADERS } from './lib/clients.mjs';
import { BENCH_SECRET, benchSettings, CASES, loadFor, loadRun, machine, median, medianOf } from './lib/measure.mjs';
import { rssOf, startNodeServer, startRedis, startRedisCluster } from './lib/processes.mjs';

const SETTINGS = benchSettings({ rounds: 3, durationSeconds: 5, warmupSeconds: 2 });
const { quick } = SETTINGS;
SETTINGS.memoryRequests = quick ? [2_000, 20_000] : [20_000, 200_000];
/** What the README promises, checked against the measurements (not asserted in tests). */
// Issue #13: logged-in page view 1.05x, login 0.95x; the others as before (0.9x).
const TARGETS = { loggedInGetRatio: 1.05, loginRatio: 0.95, otherRatio: 0.9, anonymousCommands: 0, loggedInGetCommands: 1, rssGrowth: 1.2 };

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const log = (line) => process.stdout.write(`${line}\n`);

/**
 * How many commands the app sent to `servers` while `work` ran, watched by MONITOR: a script
 * counts once, as the app sends it (MONITOR reports the commands a script runs inside Redis with
 * the source "lua", and INFO commandstats would count them as well). MONITOR costs the server
 * time, so only the warm-up runs are watched, never the measured rounds.
 */
async function commandsSent(servers, work) {
  // monitor() opens a connection of its own, closed below.
  const monitors = await Promise.all(servers.map((redis) => redis.monitor()));
  let sent = 0;
  for (const monitor of monitors) monitor.on('monitor', (_time, _args, source) => source !== 'lua' && sent++);
  try {
    const result = await work();
    // The last commands' echoes may still be on their way.
    await new Promise((resolve) => setTimeout(resolve, 200));
    return { result, sent };
  } finally {
    monitors.forEach((monitor) => monitor.disconnect());
  }
}

/**
 * One run of `testCase` on `target`. The warm-up run (`countOn`: the Redis servers to watch)
 * also counts the commands a request sends; the measured rounds reuse that count.
 */
async function measure(target, testCase, seconds, countOn) {
  const options = { ...(await loadFor(target, testCase, SETTINGS.connections)), duration: seconds };
  if (!countOn) return loadRun(target, options, testCase.expect);
  const { result: m, sent } = await commandsSent(countOn, () => loadRun(target, options, testCase.expect));
  return { ...m, commandsPerRequest: m.sent > 0 ? sent / m.sent : 0 };
}

/**
 * The cost of the cluster client: logged-in page views on an app over a 3-master Redis Cluster
 * against the same on the app over one Redis, in interleaved rounds of the same run.
 */
async function clusterCase(app, redis) {
  const testCase = CASES.find((c) => c.id === 'logged-in-get-login');
  const cluster = await startRedisCluster(3);
  const nodes = cluster.ports.map((port) => new Redis(port, '127.0.0.1'));
  const clusterApp = await startNodeServer('app (cluster)', root('dist/main.js'), {
    NODE_ENV: 'production',
    SESSION_SECRET: BENCH_SECRET,
    SESSION_KEY_PREFIX: 'session:',
    SESSION_TYPE: 'redis',
    REDIS_CLUSTER_NODES: cluster.seeds,
    TRUST_PROXY: '1',
  });
  try {
    const targets = { single: [app, [redis]], cluster: [clusterApp, nodes] };
    const commands = {};
    for (const [name, [target, servers]] of Object.entries(targets))
      commands[name] = (await measure(target, testCase, SETTINGS.warmupSeconds, servers)).commandsPerRequest;
    const rounds = [];
    for (let round = 1; round <= SETTINGS.rounds; round++) {
      const pair = {};
      for (const [name, [target]] of Object.entries(targets)) {
        pair[name] = { ...(await measure(target, testCase, SETTINGS.durationSeconds)), commandsPerRequest: commands[name] };
        log(
          `cluster case, ${name.padEnd(7)} round ${round}: ${Math.round(pair[name].rps)} req/s, p99 ${pair[name].p99} ms, ` +
            `${pair[name].commandsPerRequest.toFixed(2)} cmds/req, ${Math.round(pair[name].cpuMicrosPerRequest)} µs CPU/req`,
        );
      }
      pair.ratio = pair.cluster.rps / pair.single.rps;
      rounds.push(pair);
    }
    const fields = ['rps', 'p50', 'p99', 'commandsPerRequest', 'cpuMicrosPerRequest'];
    return {
      title: `${testCase.title} on a 3-master Redis Cluster vs one Redis`,
      rounds,
      median: { single: medianOf(rounds.map((r) => r.single), fields), cluster: medianOf(rounds.map((r) => r.cluster), fields) },
      ratio: median(rounds.map((r) => r.ratio)),
      expectedStatusShare: Math.min(...rounds.flatMap((r) => [r.single.expectedStatusShare, r.cluster.expectedStatusShare])),
    };
  } finally {
    await clusterApp.stop();
    nodes.forEach((node) => node.disconnect());
    await cluster.stop();
  }
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
    '',
    ...clusterMarkdown(result.cluster),
  ];
  return `${lines.join('\n')}\n`;
}

/** The cluster case: the app on a cluster against the same app on one Redis. */
function clusterMarkdown(cluster) {
  const { single, cluster: onCluster } = cluster.median;
  const row = (name, m) =>
    `| ${name} | ${Math.round(m.rps)} | ${m.p50}/${m.p99} | ${m.commandsPerRequest.toFixed(2)} | ${Math.round(m.cpuMicrosPerRequest)} |`;
  return [
    `${cluster.title}, same run (cluster/one Redis: ${cluster.ratio.toFixed(2)}× the requests per second):`,
    '',
    '| Redis | app req/s | p50/p99 ms | Redis cmds per req | app CPU µs per req |',
    '|---|---:|---:|---:|---:|',
    row('one server', single),
    row('3-master cluster', onCluster),
  ];
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
  const { single, cluster } = result.cluster.median;
  console.table(
    Object.fromEntries(
      Object.entries({ 'one Redis': single, '3-master cluster': cluster }).map(([name, m]) => [
        name,
        { 'req/s': Math.round(m.rps), 'p50/p99 ms': `${m.p50}/${m.p99}`, 'cmds/req': Number(m.commandsPerRequest.toFixed(2)), 'cpu µs/req': Math.round(m.cpuMicrosPerRequest) },
      ]),
    ),
  );
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
      const commands = {};
      for (const [name, target] of Object.entries(targets))
        commands[name] = (await measure(target, testCase, SETTINGS.warmupSeconds, [redis])).commandsPerRequest;
      const rounds = [];
      for (let round = 1; round <= SETTINGS.rounds; round++) {
        const pair = {};
        for (const name of ['app', 'baseline']) {
          pair[name] = { ...(await measure(targets[name], testCase, SETTINGS.durationSeconds)), commandsPerRequest: commands[name] };
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
    log('cluster: logged-in page views on a 3-master Redis Cluster, then on one Redis, in turn');
    const cluster = await clusterCase(app, redis);
    const byId = Object.fromEntries(cases.map((c) => [c.id, c]));
    const checks = {
      loggedInGetRatio: byId['logged-in-get-login'].ratio >= TARGETS.loggedInGetRatio,
      loginRatio: byId['logged-in-post-login'].ratio >= TARGETS.loginRatio,
      otherRatios: cases.filter((c) => !['logged-in-get-login', 'logged-in-post-login'].includes(c.id)).every((c) => c.ratio >= TARGETS.otherRatio),
      anonymousCommands: byId['anonymous-get-login'].median.app.commandsPerRequest === TARGETS.anonymousCommands,
      loggedInGetCommands: byId['logged-in-get-login'].median.app.commandsPerRequest <= TARGETS.loggedInGetCommands,
      memory: memory.app.growth <= TARGETS.rssGrowth,
      statuses: cases.every((c) => c.median.app.expectedStatusShare >= 0.99 && c.median.baseline.expectedStatusShare >= 0.99) && cluster.expectedStatusShare >= 0.99,
    };
    const result = { date: new Date().toISOString(), machine: machine(), settings: SETTINGS, targets: TARGETS, checks, cases, memory, cluster, seconds: Math.round((Date.now() - started) / 1000) };
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
