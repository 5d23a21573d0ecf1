/**
 * What the benchmarks share about loading a server: the cases, the visitor each case needs, one
 * autocannon run with the server's CPU time and every response class counted, and medians.
 */
import os from 'node:os';
import autocannon from 'autocannon';
import {
  anonymousVisitor,
  cookieHeader,
  loggedInVisitor,
  postLoginRequests,
  PROXY_HEADERS,
} from './clients.mjs';
import { cpuMicrosOf } from './processes.mjs';
import { numberOption } from './args.mjs';

/** The secret every benchmarked server signs its cookies with (production refuses to start without one). */
export const BENCH_SECRET = 'bench-secret-bench-secret-bench-secret';

export const CASES = [
  {
    id: 'anonymous-get-login',
    title: 'anonymous GET /login/',
    path: '/login/',
    expect: '2xx',
    visitor: 'anonymous',
  },
  {
    id: 'logged-in-get-login',
    title: 'logged-in GET /login/',
    path: '/login/',
    expect: '2xx',
    visitor: 'logged-in',
  },
  {
    id: 'logged-in-post-login',
    title: 'POST /login/ (logged in)',
    path: '/login/',
    expect: '3xx',
    visitor: 'post-loop',
  },
  {
    id: 'get-setcookie',
    title: 'GET /setcookie/',
    path: '/setcookie/',
    expect: '2xx',
    visitor: 'none',
  },
];

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/**
 * Settings of a run: `full` ({ rounds, durationSeconds, warmupSeconds }), or with `--quick` one
 * short smoke round; `--rounds=N` asks for more rounds (the medians of a noisy hour steady with
 * more of them).
 */
export function benchSettings(full) {
  const quick = process.argv.includes('--quick');
  const settings = quick
    ? { rounds: 1, durationSeconds: 1, warmupSeconds: 0.5 }
    : full;
  return {
    quick,
    ...settings,
    rounds: numberOption('rounds', settings.rounds),
    connections: 10,
  };
}

export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** The median of each of `fields` over several measurements of one server and case. */
export const medianOf = (measurements, fields) =>
  Object.fromEntries(
    fields.map((field) => [field, median(measurements.map((m) => m[field]))]),
  );

/** autocannon options that make `target` serve `testCase` as a real visitor would. */
export async function loadFor(target, testCase, connections) {
  const base = {
    url: `${target.url}${testCase.path}`,
    connections,
    headers: { ...PROXY_HEADERS },
  };
  switch (testCase.visitor) {
    case 'none':
      return base;
    case 'anonymous': {
      const visitor = await anonymousVisitor(target.url);
      return {
        ...base,
        headers: { ...base.headers, cookie: cookieHeader(visitor.jar) },
      };
    }
    case 'logged-in': {
      const visitor = await loggedInVisitor(target.url);
      return {
        ...base,
        headers: { ...base.headers, cookie: cookieHeader(visitor.jar) },
      };
    }
    case 'post-loop':
      return {
        ...base,
        ...postLoginRequests(await anonymousVisitor(target.url)),
      };
  }
  throw new Error(`unknown visitor ${testCase.visitor}`);
}

/** One autocannon run of `options` against `target` (a started server with a pid), with its CPU time. */
export async function loadRun(target, options, expect) {
  const cpuBefore = await cpuMicrosOf(target.pid);
  const result = await autocannon(options);
  const cpu = (await cpuMicrosOf(target.pid)) - cpuBefore;
  const total = result.requests.total;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: total,
    // Requests still in flight when the run ends reached the server but are not in `total`.
    sent: Math.max(result.requests.sent, total),
    // The server's own CPU per request: steadier than req/s on a shared machine.
    cpuMicrosPerRequest: total > 0 ? cpu / total : 0,
    expectedStatusShare: total > 0 ? result[expect] / total : 0,
    statuses: Object.fromEntries(
      STATUS_CLASSES.map((name) => [name, result[name]]),
    ),
    errors: result.errors + result.timeouts,
  };
}

/** Why a measurement cannot count (no response, errors, any response outside `expect`), or undefined. */
export function statusProblem(m, expect) {
  const counts = Object.entries(m.statuses)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${name}`);
  const others = m.requests - m.statuses[expect];
  if (m.requests > 0 && others === 0 && m.errors === 0) return undefined;
  return `expected only ${expect}, got ${counts.join(', ') || 'no responses'} and ${m.errors} errors/timeouts`;
}

export function machine() {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.versions.node,
    platform: `${os.type()} ${os.release()}`,
  };
}
