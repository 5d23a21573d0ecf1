import knex from 'knex';
import { randomBytes } from 'node:crypto';
const D = './packages/nest-server-session/dist/stores/';
const { SessionTable } = await import(D + 'sql/session-table.js');
const { KnexSessionBackend } = await import(D + 'sql/knex-session.store.js');
const { createSessionCodec } = await import(D + 'common/session-codec.js');
const conns = {
  pg: 'postgres://postgres@127.0.0.1:5432/test',
  mysql2: { uri: 'mysql://root@127.0.0.1:3306/test', database: 'test', supportBigNumbers: true, charset: 'utf8mb4' },
};
for (const client of Object.keys(conns)) {
  const db = knex({ client, connection: conns[client], useNullAsDefault: true, pool: { min: 0, max: 1 } });
  const name = ('tmp_idx_' + randomBytes(3).toString('hex')).padEnd(63, 'x');
  const table = new SessionTable(db, name, undefined, 5000);
  const b = new KnexSessionBackend(table, 'p:', createSessionCodec());
  try { await b.ready(); console.log(client, 'ok'); } catch (e) { console.log(client, 'ERR', e.message); }
  finally {
      await db.schema.dropTableIfExists(table.usersName);
      await db.schema.dropTableIfExists(name);
    await db.destroy();
  }
}
