/**
 * The server behind each store kind, shared by our store and the peers measured against it:
 * a private redis-server or memcached on a free port, a folder for SQLite files or session
 * files, or the shared PostgreSQL / MySQL. Each can report its CPU time where that is its own
 * (the private servers), and read what expiry it recorded for a key, which is how the checks
 * see the stored TTL whatever the store.
 */
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { startMemcached, startRedis } from './processes.mjs';
import { checkSqlServer, SQL_SERVERS } from './sql-servers.mjs';

/** The kinds, in the order the benchmarks run them. */
export const STORE_KINDS = [
  'memory',
  'redis',
  'memcached',
  'sqlite',
  'postgres',
  'mysql',
  'filesystem',
];

/** How our store's name reads in tables (as test/utils/store-cases.ts names them). */
export const KIND_TITLES = {
  memory: 'memory',
  redis: 'redis',
  memcached: 'memcached',
  sqlite: 'sql (sqlite)',
  postgres: 'sql (postgres)',
  mysql: 'sql (mysql)',
  filesystem: 'filesystem',
};

/** Starts (or checks) the server of `kind`; everything it starts is stopped at clean-up. */
export async function startStoreServer(kind, cleanup, options = {}) {
  switch (kind) {
    case 'memory':
      return { kind };
    case 'redis': {
      const server = await startRedis();
      cleanup.add('stop redis-server', server.stop);
      const inspector = new Redis(server.url, { lazyConnect: true });
      await inspector.connect();
      cleanup.add('close the Redis inspector', () => inspector.quit());
      return {
        kind,
        url: server.url,
        inspector,
        cpuMicros: async () => redisCpuMicros(inspector),
        expiryOf: async (key) => {
          const ms = await inspector.pttl(key);
          return ms >= 0 ? Date.now() + ms : null;
        },
      };
    }
    case 'memcached': {
      const server = await startMemcached(options);
      cleanup.add('stop memcached', server.stop);
      return {
        kind,
        address: server.address,
        port: server.port,
        cpuMicros: () => memcachedCpuMicros(server.port),
        expiryOf: async (key) => {
          const reply = await memcachedCommand(server.port, `mg ${key} t\r\n`);
          const ttl = /^HD .*\bt(-?\d+)/.exec(reply)?.[1];
          return ttl === undefined ? null : Date.now() + Number(ttl) * 1000;
        },
      };
    }
    case 'sqlite':
    case 'filesystem':
      return { kind, dir: await cleanup.tempDir(kind) };
    case 'postgres':
    case 'mysql': {
      const sql = SQL_SERVERS[kind];
      await checkSqlServer(sql);
      return { kind, sql };
    }
  }
  throw new Error(`unknown store kind ${kind}`);
}

/** CPU time redis-server has used (user + system), in microseconds, from INFO. */
async function redisCpuMicros(client) {
  const info = await client.info('cpu');
  const field = (name) =>
    Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/** CPU time memcached has used (user + system), in microseconds, from `stats`. */
async function memcachedCpuMicros(port) {
  const stats = await memcachedCommand(port, 'stats\r\n', /END\r\n$/);
  const field = (name) =>
    Number(new RegExp(`STAT ${name} ([\\d.]+)`).exec(stats)?.[1] ?? 0);
  return (field('rusage_user') + field('rusage_system')) * 1e6;
}

/** One text-protocol command on a connection of its own; resolves with the reply. */
function memcachedCommand(port, command, end = /\r\n$/) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      reply += chunk;
      if (end.test(reply)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.write(command);
  });
}
