/**
 * `npm run sessions:cleanup` (dist/sessions-cleanup.js, built by `npm run test:e2e`), run as a
 * process against each store that keeps expired sessions until they are swept.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Logger } from '@nestjs/common';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { type Env, type SessionStoreHandle } from 'nest-server-session';
import {
  call,
  expiringSession,
  session,
  sleep,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import {
  describeEachStore,
  uniquePrefix,
  type StoreSetup,
} from './utils/store-cases.js';
import { openStoreFromEnv } from './utils/store-from-env.js';
import type { StoreProbe } from './utils/store-probes.js';

const CLEANUP = resolve('dist/sessions-cleanup.js');
const run = promisify(execFile);

function runCleanup(env: Env) {
  return run(process.execPath, [CLEANUP], {
    env: { PATH: process.env.PATH ?? '', ...env },
    timeout: 20_000,
  });
}

describeEachStore('sessions:cleanup on the store:', (store) => {
  const swept = store.type === 'sql' || store.type === 'filesystem';
  const prefix = uniquePrefix();
  let setup: StoreSetup;
  let env: Env;
  let handle: SessionStoreHandle | undefined;
  let probe: StoreProbe | undefined;

  beforeAll(async () => {
    // The stores log outages as warnings; expected here, and noise in the test output.
    Logger.overrideLogger(['error']);
    setup = await store.setUp();
    env = { ...setup.env, SESSION_KEY_PREFIX: prefix, SESSION_SECRET: 'x' };
  });

  afterAll(async () => {
    await probe?.close();
    await handle?.close();
    await setup?.tearDown();
  });

  if (swept) {
    it('removes expired sessions and leaves live ones', async () => {
      handle = await openStoreFromEnv(env);
      probe = setup.probe(prefix, () => handle!);
      const s = handle.store;
      await call((cb) => s.set('live', session({ n: 1 }), cb));
      for (const sid of ['old-1', 'old-2', 'old-3'])
        await call((cb) => s.set(sid, expiringSession(1000, { sid }), cb));
      await sleep(1300);
      // Expired sessions no longer load, but they are still stored.
      await expect(call((cb) => s.get('old-1', cb))).resolves.toBeNull();
      expect(await probe.keysOnDisk!()).toHaveLength(4);

      const { stdout } = await runCleanup(env);
      expect(stdout).toMatch(
        new RegExp(
          `^Removed 3 expired sessions from the ${store.type} store$`,
          'm',
        ),
      );
      expect(await probe.keysOnDisk!()).toEqual([`${prefix}live`]);
      expect(await call((cb) => s.get('live', cb))).toMatchObject({ n: 1 });
    });
  } else {
    it('says the store expires sessions itself', async () => {
      const { stdout } = await runCleanup(env);
      expect(stdout).toContain(
        `SESSION_TYPE=${store.type}: the store expires sessions itself; nothing to clean up`,
      );
    });
  }
});

it('sessions:cleanup exits 1 on a bad setting, naming it', async () => {
  await expect(
    runCleanup({ SESSION_TYPE: 'sql', DATABASE_URL: 'nonsense' }),
  ).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/^DATABASE_URL: /m),
  });
});
