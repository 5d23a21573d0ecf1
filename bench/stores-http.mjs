/**
 * `npm run bench:stores:http [-- --quick]`: the app (dist/main.js, production mode, behind a
 * simulated TLS proxy) once per session store, loaded with autocannon in interleaved rounds (each round
 * measures every store once, starting one store further each round), against the in-process
 * memory store as the baseline. Prints a table and writes bench/results/stores-http.json
 * and stores-http.md (stores-http-quick.* with --quick).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log, runBenchmark } from './lib/cleanup.mjs';
import { writeResults } from './lib/results.mjs';
import { greetedName } from './lib/clients.mjs';
import {
  BENCH_SECRET,
  benchSettings,
  CASES,
  loadFor,
  loadRun,
  machine,
  medianOf,
  statusProblem,
} from './lib/measure.mjs';
import {
  startMemcached,
  startNodeServer,
  startRedis,
} from './lib/processes.mjs';
import {
  checkSqlServer,
  dropAtCleanup,
  SQL_SERVERS,
  uniqueTable,
} from './lib/sql-servers.mjs';

const SETTINGS = benchSettings({
  rounds: 5,
  durationSeconds: 3,
  warmupSeconds: 1.5,
});
const { quick } = SETTINGS;
/** A page view that reads the session, and a login that writes a new one and destroys the old. */
const BENCH_CASES = CASES.filter((c) =>
  ['logged-in-get-login', 'logged-in-post-login'].includes(c.id),
);
const BASELINE = 'memory';
/** As `npm run bench` runs the app: production, Secure cookies through a trusted proxy. */
const APP_ENV = {
  NODE_ENV: 'production',
  SESSION_SECRET: BENCH_SECRET,
  SESSION_KEY_PREFIX: 'session:',
  TRUST_PROXY: '1',
};

const root = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

/**
 * A table of this run's own on a shared PostgreSQL or MySQL (the app creates it at start),
 * dropped at the end. Fails, naming the server, when it does not answer.
 */
async function sqlServerEnv(cleanup, server) {
  await checkSqlServer(server);
  const table = uniqueTable('bench_sessions');
  dropAtCleanup(cleanup, server, table);
  return {
    SESSION_TYPE: 'sql',
    DATABASE_URL: server.url,
    SESSION_SQL_TABLE: table,
  };
}

/** Each store, and how to get the app's environment for it, starting what it needs. */
const STORES = [
  { name: 'memory', env: async () => ({ SESSION_TYPE: 'memory' }) },
  {
    name: 'redis',
    env: async (cleanup) => {
      const server = await startRedis();
      cleanup.add('stop redis-server', server.stop);
      return { SESSION_TYPE: 'redis', REDIS_URL: server.url };
    },
  },
  {
    name: 'memcached',
    env: async (cleanup) => {
      const server = await startMemcached();
      cleanup.add('stop memcached', server.stop);
      return { SESSION_TYPE: 'memcached', MEMCACHED_SERVERS: server.address };
    },
  },
  {
    name: 'sql (sqlite)',
    env: async (cleanup) => ({
      SESSION_TYPE: 'sql',
      DATABASE_URL: `sqlite:${join(await cleanup.tempDir('sqlite'), 'sessions.sqlite')}`,
    }),
  },
  {
    name: 'sql (postgres)',
    env: (cleanup) => sqlServerEnv(cleanup, SQL_SERVERS.postgres),
  },
  {
    name: 'sql (mysql)',
    env: (cleanup) => sqlServerEnv(cleanup, SQL_SERVERS.mysql),
  },
  {
    name: 'filesystem',
    env: async (cleanup) => ({
      SESSION_TYPE: 'filesystem',
      SESSION_FILE_DIR: join(await cleanup.tempDir('files'), 'sessions'),
    }),
  },
];

/** The last `count` different lines of a log, without colours or Nest's pid/date stamp. */
function lastDistinctLines(output, count) {
  const lines = output
    // Colour codes, also one whose escape byte the tail cut off.
    // oxlint-disable-next-line no-control-regex
    .replace(/\x1b?\[[\d;]*m/g, '')
    .split('\n')
    .map((line) =>
      line
        .replace(
          /^\[Nest\] \d+\s+-\s+.*?\s+(?=(LOG|WARN|ERROR|DEBUG|VERBOSE|FATAL)\b)/,
          '',
        )
        .trim(),
    )
    .filter((line) => line !== '');
  return [...new Set(lines.reverse())].slice(0, count).reverse().join('\n');
}

/**
 * One load of `testCase` on `app`. A misconfigured store must not pass for a fast one: any
 * response outside the expected class, any error, or a logged-in visitor who is no longer
 * greeted afterwards (a lost session reads as a quick anonymous page) fails the run.
 */
async function measure(app, testCase, seconds) {
  const fail = (problem) => {
    const said = lastDistinctLines(app.output(), 8);
    return new Error(
      `${app.name}, ${testCase.title}: ${problem}` +
        (said ? `\n--- the last distinct lines it logged ---\n${said}` : ''),
    );
  };
  const visitor = await loadFor(app, testCase, SETTINGS.connections).catch(
    (err) => {
      throw fail(err.message);
    },
  );
  const options = { ...visitor, duration: seconds };
  const m = await loadRun(app, options, testCase.expect);
  let problem = statusProblem(m, testCase.expect);
  if (!problem && testCase.visitor === 'logged-in') {
    const res = await fetch(options.url, { headers: options.headers });
    const name = greetedName(await res.text());
    if (res.status !== 200 || name !== 'bench')
      problem = `after the run the visitor is no longer logged in (${res.status}, greeted "${name ?? ''}")`;
  }
  if (problem) throw fail(problem);
  return m;
}

async function runCase(apps, testCase, progress) {
  log(`${testCase.title}: warming up every store`);
  for (const app of apps) await measure(app, testCase, SETTINGS.warmupSeconds);
  const rounds = [];
  for (let round = 0; round < SETTINGS.rounds; round++) {
    const byStore = {};
    for (let k = 0; k < apps.length; k++) {
      const app = apps[(round + k) % apps.length];
      const m = await measure(app, testCase, SETTINGS.durationSeconds);
      byStore[app.store] = m;
      log(
        `${`[${++progress.run}/${progress.total}]`.padStart(7)} ${testCase.title.padEnd(24)} ${app.store.padEnd(14)} round ${round + 1}: ` +
          `${Math.round(m.rps)} req/s, p99 ${m.p99} ms, ${Math.round(m.cpuMicrosPerRequest)} µs CPU/req`,
      );
    }
    // Against the memory store of the same round: noise that drifts hits both alike.
    for (const m of Object.values(byStore))
      m.ratio = m.rps / byStore[BASELINE].rps;
    rounds.push(byStore);
  }
  const fields = ['rps', 'ratio', 'p50', 'p99', 'cpuMicrosPerRequest'];
  const median = Object.fromEntries(
    apps.map(({ store }) => [
      store,
      medianOf(
        rounds.map((r) => r[store]),
        fields,
      ),
    ]),
  );
  return {
    id: testCase.id,
    title: testCase.title,
    expect: testCase.expect,
    rounds,
    median,
  };
}

/** One row per store: each case's req/s, ratio to memory, latency and CPU. */
function rows(result) {
  return result.stores.map((store) => {
    const cells = result.cases.map((c) => {
      const m = c.median[store];
      return {
        rps: Math.round(m.rps),
        ratio: m.ratio.toFixed(2),
        latency: `${m.p50}/${m.p99}`,
        cpu: Math.round(m.cpuMicrosPerRequest),
      };
    });
    return { store, cells };
  });
}

function table(result) {
  const short = {
    'logged-in-get-login': 'GET',
    'logged-in-post-login': 'POST',
  };
  console.table(
    rows(result).map(({ store, cells }) => {
      const row = { store };
      result.cases.forEach((c, i) => {
        const name = short[c.id];
        row[`${name} req/s`] = cells[i].rps;
        row[`${name} ×mem`] = Number(cells[i].ratio);
        row[`${name} p50/p99 ms`] = cells[i].latency;
        row[`${name} µs CPU/req`] = cells[i].cpu;
      });
      return row;
    }),
  );
}

function markdown(result) {
  const m = result.machine;
  const s = result.settings;
  const header = result.cases.flatMap((c) => [
    `${c.title} req/s`,
    '× memory',
    'p50/p99 ms',
    'app CPU µs/req',
  ]);
  const lines = [
    `Measured ${result.date.slice(0, 10)} on ${m.cpus} × ${m.cpuModel} (${m.memoryGiB} GiB, ${m.platform}), Node ${m.node}; ` +
      `the app in production mode, ${s.connections} connections, ${s.rounds} interleaved round(s) of ${s.durationSeconds} s per store and case ` +
      `after ${s.warmupSeconds} s of warm-up; medians over the rounds, "× memory" = the median of each round's req/s over the memory store's in the same round. ` +
      `Took ${result.seconds} s.`,
    '',
    `| store | ${header.join(' | ')} |`,
    `|---|${header.map(() => '---:').join('|')}|`,
    ...rows(result).map(
      ({ store, cells }) =>
        `| ${store} | ${cells.map((c) => `${c.rps} | ${c.ratio}× | ${c.latency} | ${c.cpu}`).join(' | ')} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

async function main(cleanup) {
  const started = Date.now();
  log(
    `bench:stores:http: ${quick ? 'quick smoke run' : 'full run (about 5 minutes)'}; starting the app on ${STORES.length} stores`,
  );
  // Every store's server first, so a missing one fails the run before any load.
  const envs = [];
  for (const store of STORES) envs.push(await store.env(cleanup));
  const apps = [];
  for (const [i, store] of STORES.entries()) {
    const env = envs[i];
    const app = await startNodeServer(
      `the app on ${store.name}`,
      root('dist/main.js'),
      { ...APP_ENV, ...env },
    );
    cleanup.add(`stop the app on ${store.name}`, app.stop);
    apps.push({ ...app, store: store.name });
    log(`  ${store.name.padEnd(14)} pid ${app.pid}, ${app.url}`);
  }
  const progress = {
    run: 0,
    total: BENCH_CASES.length * SETTINGS.rounds * apps.length,
  };
  const cases = [];
  for (const testCase of BENCH_CASES)
    cases.push(await runCase(apps, testCase, progress));
  const result = {
    date: new Date().toISOString(),
    machine: machine(),
    settings: SETTINGS,
    baseline: BASELINE,
    stores: apps.map((app) => app.store),
    cases,
    seconds: Math.round((Date.now() - started) / 1000),
  };
  table(result);
  await writeResults(quick ? 'stores-http-quick' : 'stores-http', {
    json: result,
    md: markdown(result),
  });
  log(`took ${result.seconds} s`);
}

await runBenchmark('bench-stores-http', main);
