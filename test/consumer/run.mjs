/**
 * The consumer test (issue #10): nest-server-session as an outside app gets it. It packs the
 * workspace package as `npm publish` would, installs the tarball into scratch Nest apps made in a
 * temporary folder (offline: every package from npm's cache, which the root `npm ci` filled),
 * compiles them with their own tsc against the package's type declarations and runs them:
 * - redis-app/: Nest, ioredis and connect-redis besides the package; `SessionModule.forRoot({
 *   type: 'redis', ... })`; logs in over HTTP on the Redis at REDIS_URL, under a key prefix of
 *   its own, deleted afterwards. Its type-errors/ must not compile.
 * - sql-app/: asks for `type: 'sql'` without knex or better-sqlite3, and must stop with one line
 *   saying what to install.
 * Run by `npm test` (after the e2e tests) or alone: `npm run test:consumer`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { stripVTControlCharacters } from 'node:util';
import { Redis } from 'ioredis';
import { AppProcess } from './lib/app-process.mjs';
import { mustRun, run, tail } from './lib/commands.mjs';
import { writePinnedLockfile } from './lib/pinned-lockfile.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = fileURLToPath(new URL('.', import.meta.url));
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Where the apps' package.json files expect the tarball. */
const TARBALL = 'nest-server-session.tgz';

const tmp = mkdtempSync(join(tmpdir(), 'nest-server-session-consumer-'));
const prefix = `consumer-test:${randomUUID()}:`;
const apps = [];
let packed;

before(async () => {
  const pack = await mustRun(
    'npm',
    [
      'pack',
      '--workspace',
      'nest-server-session',
      '--pack-destination',
      tmp,
      '--json',
    ],
    { cwd: ROOT },
  );
  [packed] = JSON.parse(pack.stdout);
  renameSync(join(tmp, packed.filename), join(tmp, TARBALL));
  for (const app of ['redis-app', 'sql-app']) {
    const dir = join(tmp, app);
    cpSync(join(FIXTURES, app), dir, { recursive: true });
    cpSync(join(FIXTURES, 'main.ts'), join(dir, 'src/main.ts'));
    writePinnedLockfile(
      dir,
      join(ROOT, 'package-lock.json'),
      `file:../${TARBALL}`,
    );
    const install = await run(
      'npm',
      ['install', '--offline', '--no-audit', '--no-fund'],
      { cwd: dir },
    );
    if (install.code !== 0) {
      throw new Error(
        `${install.what} failed: the scratch apps take every package from npm's cache, which ` +
          `\`npm ci\` at the root fills; run it first.\n${tail(install.stdout + install.stderr)}`,
      );
    }
  }
});

after(async () => {
  apps.forEach((app) => app.kill());
  await Promise.all(apps.map((app) => app.exited));
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
  });
  try {
    await redis.connect();
    const keys = [];
    for await (const batch of redis.scanStream({ match: `${prefix}*` }))
      keys.push(...batch);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the tarball holds dist (.js with .d.ts), package.json, a README and a license; no specs, fixtures, maps or build info', () => {
  const files = packed.files.map((file) => file.path);
  const outside = files.filter(
    (path) =>
      !path.startsWith('dist/') &&
      path !== 'package.json' &&
      path !== 'README.md',
  );
  assert.deepEqual(
    outside,
    [],
    'files outside dist/, package.json and README.md',
  );
  assert.ok(files.includes('README.md'), 'README.md is in the tarball');
  for (const entry of ['dist/index.js', 'dist/index.d.ts'])
    assert.ok(files.includes(entry), `${entry} is in the tarball`);
  const withoutTypes = files.filter(
    (path) =>
      path.endsWith('.js') && !files.includes(path.replace(/\.js$/, '.d.ts')),
  );
  assert.deepEqual(withoutTypes, [], '.js files without their .d.ts');
  const unwanted = files.filter((path) =>
    /\.(spec|fixtures)\.|\.tsbuildinfo$|\.map$/.test(path),
  );
  assert.deepEqual(unwanted, [], 'test or build leftovers in the tarball');
  const manifest = JSON.parse(
    readFileSync(
      join(ROOT, 'packages/nest-server-session/package.json'),
      'utf8',
    ),
  );
  assert.equal(manifest.license, 'MIT');
  for (const target of Object.values(manifest.exports['.'])) {
    assert.ok(
      files.includes(target.replace(/^\.\//, '')),
      `exports target ${target} is in the tarball`,
    );
  }
});

test('the redis app compiles against the package types; forRoot({ type: "redis" }) with an option of the sql store does not', async () => {
  const cwd = join(tmp, 'redis-app');
  await mustRun(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'],
    { cwd },
  );
  const typeErrors = await run(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.type-errors.json'],
    { cwd },
  );
  const errors = typeErrors.stdout
    .split('\n')
    .filter((line) => /error TS\d+/.test(line));
  assert.notEqual(
    typeErrors.code,
    0,
    'type-errors/ compiled, but forRoot with another store\'s option must not',
  );
  assert.equal(
    errors.length,
    1,
    `one type error expected, got:\n${typeErrors.stdout}`,
  );
  assert.match(errors[0], /^type-errors\/redis-with-sql-option\.ts\(4,/);
  assert.match(typeErrors.stdout, /'table' does not exist in type/);
});

test('the redis app starts, logs in over HTTP with its session in Redis, and stops on SIGTERM', async () => {
  const app = new AppProcess(join(tmp, 'redis-app'), {
    REDIS_URL,
    SESSION_PREFIX: prefix,
  });
  apps.push(app);
  const url = await app.url();

  const login = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'ada' }),
  });
  assert.equal(
    login.status,
    201,
    `POST /login answered ${login.status}: ${await login.text()}`,
  );
  const setCookie = login.headers
    .getSetCookie()
    .find((cookie) => cookie.startsWith('session='));
  assert.ok(
    setCookie,
    `no session cookie in ${JSON.stringify(login.headers.getSetCookie())}`,
  );
  const cookie = setCookie.split(';')[0];

  const again = await fetch(`${url}/whoami`, { headers: { cookie } });
  assert.deepEqual(await again.json(), { username: 'ada' });
  const anonymous = await fetch(`${url}/whoami`);
  assert.deepEqual(await anonymous.json(), { username: null });

  // The cookie is `s:<id>.<signature>`; the store key is the prefix and the id.
  const id = /^s:([^.]+)\./.exec(
    decodeURIComponent(cookie.slice('session='.length)),
  )?.[1];
  const redis = new Redis(REDIS_URL);
  try {
    assert.equal(
      await redis.exists(`${prefix}${id}`),
      1,
      `no Redis key ${prefix}${id}`,
    );
  } finally {
    redis.disconnect();
  }

  const { code, signal } = await app.stop();
  // Nest closes the app (and the store) on SIGTERM, then re-raises the signal.
  assert.ok(
    code === 0 || signal === 'SIGTERM',
    `stopped with ${code ?? signal}:\n${app.output()}`,
  );
  assert.equal(stripVTControlCharacters(app.stderr), '', 'nothing on stderr');
});

test('the sql app without knex or better-sqlite3 exits non-zero with one line saying what to install', async () => {
  const cwd = join(tmp, 'sql-app');
  for (const driver of ['knex', 'better-sqlite3']) {
    assert.equal(
      existsSync(join(cwd, 'node_modules', driver)),
      false,
      `${driver} is installed`,
    );
  }
  await mustRun(
    process.execPath,
    ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'],
    { cwd },
  );
  const app = new AppProcess(cwd, {});
  apps.push(app);
  const { code } = await app.exit();
  assert.ok(
    code !== 0 && code !== null,
    `exited with ${code}:\n${app.output()}`,
  );
  const lines = stripVTControlCharacters(app.stderr)
    .split('\n')
    .filter((line) => line.trim() !== '');
  assert.equal(
    lines.length,
    1,
    `one line expected on stderr, got:\n${lines.join('\n')}`,
  );
  assert.match(
    lines[0],
    /SESSION_TYPE=sql needs knex and better-sqlite3: npm install knex better-sqlite3$/,
  );
});
