import knexFactory from 'knex';
import { Redis } from 'ioredis';
import type { SessionStoreHandle } from '../../src/session/index.js';

/**
 * Reads a store directly, beside the app, to check what a request really wrote. Redis and
 * SQL are read with their own clients, not through the app's store code.
 */
export interface StoreProbe {
  /** Stored keys under the prefix (prefix included). */
  keys(): Promise<string[]>;
  /** The stored session, parsed; null when absent or expired. */
  read(key: string): Promise<Record<string, unknown> | null>;
  /** Seconds until the key expires. */
  ttlSeconds(key: string): Promise<number>;
  close(): Promise<void>;
}

export function redisProbe(url: string, prefix: string): StoreProbe {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const keys = async () => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await client.scan(
        cursor,
        'MATCH',
        `${escapeGlob(prefix)}*`,
        'COUNT',
        500,
      );
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found;
  };
  return {
    keys,
    read: async (key) => {
      const raw = await client.get(key);
      return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
    },
    ttlSeconds: (key) => client.ttl(key),
    // Leaves the shared Redis as it was: only this test's prefix is removed, never a flush.
    close: async () => {
      const own = await keys();
      if (own.length > 0) await client.del(own);
      client.disconnect();
    },
  };
}

export function sqliteProbe(
  filename: string,
  prefix: string,
  table = 'sessions',
): StoreProbe {
  const db = knexFactory({
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
  });
  const own = () =>
    db(table)
      .whereRaw('substr(sid, 1, ?) = ?', [prefix.length, prefix])
      .where('expires_at', '>', Date.now());
  return {
    keys: async () =>
      (await own().select<{ sid: string }[]>('sid')).map((row) => row.sid),
    read: async (key) => {
      const row = await own()
        .where('sid', key)
        .first<{ sess: string } | undefined>('sess');
      return row ? (JSON.parse(row.sess) as Record<string, unknown>) : null;
    },
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

/** The memory store lives in the app process, so it can only be read through the app's handle. */
export function memoryProbe(
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
