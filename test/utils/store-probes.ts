import { readdir, readFile, stat } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { Redis, type Cluster } from 'ioredis';
import type { SessionStoreHandle } from 'nest-server-session';

/**
 * Reads a store directly, beside the app, to check what a request really wrote: each store with
 * its own client, not through the app's store code (but for the in-process memory store).
 */
export interface StoreProbe {
  /** Stored keys under the prefix (prefix included). */
  keys(): Promise<string[]>;
  /** Keys under the prefix still on disk, expired ones included (sql and filesystem). */
  keysOnDisk?(): Promise<string[]>;
  /** The stored session's bytes as the store keeps them; null when absent or expired. */
  bytes?(key: string): Promise<Buffer | null>;
  /** The stored session, parsed; null when absent or expired. */
  read(key: string): Promise<Record<string, unknown> | null>;
  /** Seconds until the key expires. */
  ttlSeconds(key: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * A Redis store's keys, read with a client of the probe's own: `connect` is a URL or makes a
 * client of any mode (every master of a cluster is scanned). `keys()` lists the sessions, not
 * the per-user index hashes (`prefix + 'user:' + id`) that share the prefix.
 */
export function redisProbe(
  connect: string | (() => Redis | Cluster),
  prefix: string,
): StoreProbe {
  const client =
    typeof connect === 'string'
      ? new Redis(connect, { maxRetriesPerRequest: 1 })
      : connect();
  const everyKey = async () => {
    const found: string[] = [];
    // A cluster client still connecting may replace its node connections (a CI run once had a
    // scan fail with "Connection is closed" on the first listing): list the nodes once ready.
    if (client.isCluster && client.status !== 'ready')
      await new Promise((resolve) => client.once('ready', resolve));
    const servers = client.isCluster
      ? (client as Cluster).nodes('master')
      : [client as Redis];
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, batch] = await server.scan(
          cursor,
          'MATCH',
          `${escapeGlob(prefix)}*`,
          'COUNT',
          500,
        );
        found.push(...batch);
        cursor = next;
      } while (cursor !== '0');
    }
    return found;
  };
  const bytes = (key: string) => client.getBuffer(key);
  return {
    keys: async () =>
      (await everyKey()).filter((key) => !key.startsWith(`${prefix}user:`)),
    bytes,
    read: async (key) => parseStored(await bytes(key)),
    ttlSeconds: (key) => client.ttl(key),
    // Leaves the shared Redis as it was: only this test's prefix is removed, never a flush.
    close: async () => {
      const own = await everyKey();
      await Promise.all(own.map((key) => client.del(key)));
      client.disconnect();
    },
  };
}

/** A SQL session table, read with knex on its own connection. */
export function knexProbe(
  client: SqlClient,
  url: string,
  table: string,
  prefix: string,
): StoreProbe {
  const db = knexFactory(knexConfig(client, url));
  const onDisk = () =>
    db(table).whereRaw('substr(sid, 1, ?) = ?', [[...prefix].length, prefix]);
  const own = () => onDisk().where('expires_at', '>', Date.now());
  const bytes = async (key: string) => {
    const row = await own()
      .where('sid', key)
      .first<{ sess: string | Buffer } | undefined>('sess');
    return row ? Buffer.from(row.sess) : null;
  };
  return {
    keys: async () =>
      (await own().select<{ sid: string }[]>('sid')).map((row) => row.sid),
    keysOnDisk: async () =>
      (await onDisk().select<{ sid: string }[]>('sid')).map((row) => row.sid),
    bytes,
    read: async (key) => parseStored(await bytes(key)),
    ttlSeconds: async (key) => {
      const row = await own()
        .where('sid', key)
        .first<{ expires_at: number } | undefined>('expires_at');
      return row
        ? Math.round((Number(row.expires_at) - Date.now()) / 1000)
        : -2;
    },
    close: () => db.destroy(),
  };
}

export type SqlClient = 'better-sqlite3' | 'pg' | 'mysql2';

function knexConfig(client: SqlClient, url: string): Knex.Config {
  return client === 'better-sqlite3'
    ? {
        client,
        connection: { filename: url.slice('sqlite:'.length) },
        useNullAsDefault: true,
      }
    : { client, connection: url, pool: { min: 0, max: 2 } };
}

/** Drops a table a suite made, and the per-user index table made beside it, on a connection of its own. */
export async function dropTable(
  client: SqlClient,
  url: string,
  table: string,
): Promise<void> {
  const db = knexFactory(knexConfig(client, url));
  try {
    await db.schema.dropTableIfExists(`${table}_users`);
    await db.schema.dropTableIfExists(table);
  } finally {
    await db.destroy();
  }
}

/**
 * A private memcached, read over its text protocol: `lru_crawler metadump` lists the keys
 * (memcached has no KEYS command), `get` reads one.
 */
export function memcachedProbe(port: number, prefix: string): StoreProbe {
  const metadump = async () => {
    let reply = await memcachedText(port, 'lru_crawler metadump all\r\n');
    // One crawl at a time: a dump asked for while another runs answers BUSY.
    for (let i = 0; i < 50 && reply.toString().startsWith('BUSY'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      reply = await memcachedText(port, 'lru_crawler metadump all\r\n');
    }
    const lines = reply.toString('utf8').split(/\r?\n/);
    const now = Date.now() / 1000;
    const entries = new Map<string, number>();
    for (const line of lines) {
      const match = /^key=(\S+) exp=(-?\d+)/.exec(line);
      if (!match) continue;
      const exp = Number(match[2]);
      if (exp === -1 || exp > now)
        entries.set(decodeURIComponent(match[1]), exp);
    }
    return entries;
  };
  const bytes = async (key: string) => {
    const reply = await memcachedText(port, `get ${key}\r\n`);
    const header = /^VALUE \S+ \d+ (\d+)\r\n/.exec(reply.toString('latin1'));
    if (!header) return null;
    const start = header[0].length;
    return reply.subarray(start, start + Number(header[1]));
  };
  return {
    // Two crawls, their union: a crawl can miss an item that memcached's LRU maintainer moves
    // between its queues meanwhile (seen: a session stored well before, missing from one dump).
    keys: async () => {
      const seen = new Set([
        ...(await metadump()).keys(),
        ...(await metadump()).keys(),
      ]);
      return [...seen].filter((key) => key.startsWith(prefix));
    },
    bytes,
    read: async (key) => parseStored(await bytes(key)),
    ttlSeconds: async (key) => {
      const exp = (await metadump()).get(key);
      if (exp === undefined) return -2;
      return exp === -1 ? -1 : Math.round(exp - Date.now() / 1000);
    },
    close: () => Promise.resolve(),
  };
}

/** Sends one text-protocol command and collects the reply up to its closing END. */
function memcachedText(port: number, command: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    socket.setTimeout(2000, () =>
      socket.destroy(new Error(`memcached on ${port}: no END in 2 s`)),
    );
    socket.on('connect', () => socket.write(command));
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      // metadump ends its key lines with a bare \n, other replies with \r\n.
      if (
        /(^|\n)(END|ERROR[^\r]*|BUSY[^\r]*)\r\n$/.test(all.toString('latin1'))
      ) {
        socket.end();
        resolve(all);
      }
    });
    socket.on('error', reject);
  });
}

/**
 * The filesystem store's directory: one file per session named base64url(key) + `.session`,
 * whose modification time is the session's expiry.
 */
export function fileProbe(dir: string, prefix: string): StoreProbe {
  const fileOf = (key: string) =>
    join(dir, Buffer.from(key).toString('base64url') + '.session');
  const expiry = async (key: string) => {
    try {
      return (await stat(fileOf(key))).mtimeMs;
    } catch {
      return undefined;
    }
  };
  const keysOnDisk = async () =>
    (await readdir(dir))
      .filter((name) => name.endsWith('.session') && !name.startsWith('.'))
      .map((name) =>
        Buffer.from(name.slice(0, -'.session'.length), 'base64url').toString(),
      )
      .filter((key) => key.startsWith(prefix));
  const bytes = async (key: string) =>
    ((await expiry(key)) ?? 0) > Date.now() ? readFile(fileOf(key)) : null;
  return {
    keysOnDisk,
    keys: async () => {
      const keys: string[] = [];
      for (const key of await keysOnDisk())
        if (((await expiry(key)) ?? 0) > Date.now()) keys.push(key);
      return keys;
    },
    bytes,
    read: async (key) => parseStored(await bytes(key)),
    ttlSeconds: async (key) => {
      const at = await expiry(key);
      return at === undefined ? -2 : Math.round((at - Date.now()) / 1000);
    },
    close: () => Promise.resolve(),
  };
}

/** Sessions are written as JSON in these suites (the default format). */
function parseStored(raw: Buffer | null): Record<string, unknown> | null {
  return raw && (JSON.parse(raw.toString()) as Record<string, unknown>);
}

/**
 * Stores the suites cannot read with a client of their own (the memory store lives in the app
 * process) are read through the app's store handle.
 */
export function handleProbe(
  getHandle: () => SessionStoreHandle,
  prefix: string,
): StoreProbe {
  const all = () =>
    new Promise<Record<string, Record<string, unknown>>>((resolve, reject) =>
      getHandle().store.all!((err, sessions) =>
        err
          ? reject(err as Error)
          : resolve(
              (sessions ?? {}) as unknown as Record<
                string,
                Record<string, unknown>
              >,
            ),
      ),
    );
  return {
    keys: async () => Object.keys(await all()).map((sid) => prefix + sid),
    read: async (key) => (await all())[key.slice(prefix.length)] ?? null,
    ttlSeconds: async (key) => {
      const session = (await all())[key.slice(prefix.length)] as
        { cookie?: { expires?: string } } | undefined;
      const expires = session?.cookie?.expires;
      return expires
        ? Math.round((new Date(expires).getTime() - Date.now()) / 1000)
        : -1;
    },
    close: () => Promise.resolve(),
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
