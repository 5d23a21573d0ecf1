/**
 * PostgreSQL and MySQL down at start, then back: the app must start, answer 503 meanwhile, and
 * create its table and serve sessions once the database answers, without a restart. The
 * database "comes back" as a forwarder to the machine's server on the port the store was given.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { SessionData } from 'express-session';
import { StoreUnavailableError } from 'nest-server-session';
import {
  call,
  session,
  sleep,
} from '../packages/nest-server-session/src/stores/common/store.fixtures.js';
import { freePort } from './utils/free-port.js';
import { MYSQL_URL, POSTGRES_URL } from './utils/store-cases.js';
import { openStoreFromEnv } from './utils/store-from-env.js';
import { dropTable, type SqlClient } from './utils/store-probes.js';
import { forward } from './utils/tcp-proxy.js';

describe.each([
  ['PostgreSQL', POSTGRES_URL, 'pg'],
  ['MySQL', MYSQL_URL, 'mysql2'],
] as const)('the sql store on %s', (_name, url, client: SqlClient) => {
  const table = `sessions_e2e_${randomBytes(4).toString('hex')}`;

  afterAll(async () => {
    await dropTable(client, url, table);
  });

  it('starts while the database is down, and works once it is back', async () => {
    Logger.overrideLogger(['error']);
    const real = new URL(url);
    const port = await freePort();
    const viaProxy = new URL(url);
    viaProxy.port = String(port);
    const handle = await openStoreFromEnv({
      SESSION_TYPE: 'sql',
      DATABASE_URL: viaProxy.toString(),
      SESSION_SQL_TABLE: table,
      SESSION_STORE_TIMEOUT_MS: '500',
    });
    const proxy = { close: () => Promise.resolve() };
    try {
      const down = await call((cb) => handle.store.get('sid', cb)).catch(
        (err: unknown) => err,
      );
      expect(down).toBeInstanceOf(StoreUnavailableError);
      await expect(handle.ping()).rejects.toThrow(/ECONNREFUSED|Timeout/);

      Object.assign(
        proxy,
        await forward(port, { host: real.hostname, port: Number(real.port) }),
      );
      let stored: SessionData | null | undefined;
      for (let i = 0; i < 20 && !stored; i++) {
        stored = await call((cb) =>
          handle.store.set('sid', session({ n: 1 }), cb),
        )
          .then(() =>
            call<SessionData | null>((cb) => handle.store.get('sid', cb)),
          )
          .catch(() => undefined);
        if (!stored) await sleep(250);
      }
      expect(stored).toMatchObject({ n: 1 });
      await expect(handle.ping()).resolves.toBeUndefined();
    } finally {
      await handle.close();
      await proxy.close();
    }
  });
});
