import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { startRedis, freePort } from './lib/processes.mjs';
import { loadFor } from './lib/measure.mjs';
import { BENCH_SECRET, CASES } from './lib/measure.mjs';
const caseId = process.argv[2] ?? 'logged-in-get-login';
const redis = await startRedis();
const port = await freePort();
const dir = '/tmp/prof/' + caseId;
const child = spawn(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '--cpu-prof-interval', '200', 'dist/main.js'], {
  env: { PATH: process.env.PATH, NODE_ENV: 'production', REDIS_URL: redis.url, SESSION_SECRET: BENCH_SECRET, SESSION_KEY_PREFIX: 'session:', SESSION_TYPE: 'redis', TRUST_PROXY: '1', PORT: String(port) },
  stdio: 'inherit',
});
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) { if (await fetch(url + '/health').then((r) => r.ok, () => false)) break; await new Promise((r) => setTimeout(r, 100)); }
const target = { name: 'app', url, pid: child.pid };
const testCase = CASES.find((c) => c.id === caseId);
const options = { ...(await loadFor(target, testCase, 10)), duration: 10 };
const result = await autocannon(options);
console.log(caseId, 'req/s', result.requests.average, 'non2xx', result.non2xx);
child.kill('SIGINT');
await new Promise((r) => child.once('exit', r));
await redis.stop?.();
process.exit(0);
