import type { SessionData } from 'express-session';
import type { Cluster, Redis } from 'ioredis';
import { SESSION_ID_LENGTH, sessionIdOfKey } from '../../session-id.js';
import type { SessionCodec } from '../common/session-codec.js';
import type { SessionListing } from '../store.contract.js';
import { isCluster, nodeAddress, type RedisClient } from './redis-mode.js';

/** Ids per page when the caller does not say. */
const DEFAULT_PAGE = 1000;
/** Keys Redis examines per SCAN call: enough to move fast, little enough not to stall it. */
const SCAN_COUNT = 1000;

/** Every slot of a Redis Cluster. */
const CLUSTER_SLOTS = 16384;

/** `text` as a Redis glob that matches only itself. */
export const escapeGlob = (text: string): string =>
  text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * The sessions of `prefix`, found by SCAN: the pattern is the prefix taken literally followed
 * by exactly as many characters as an id has, and every key it returns is checked again with
 * {@link sessionIdOfKey}, so `app` never sees `app2`'s sessions nor `x:[ab]:` those of `x:a:`.
 * SCAN walks the keyspace a bit at a time and never blocks Redis; like every SCAN it may
 * return a key twice if Redis resizes its table meanwhile (or, on a cluster, moves a slot).
 *
 * On a cluster every master is scanned in turn, and keys are read and deleted one command
 * each (sent together), since keys of different slots cannot share a command.
 */
export function redisListing(
  client: RedisClient,
  prefix: string,
  codec: SessionCodec,
): SessionListing {
  const pattern = escapeGlob(prefix) + '?'.repeat(SESSION_ID_LENGTH);
  const keysOf = (sids: string[]) => sids.map((sid) => prefix + sid);

  /** The ids each SCAN call returns, as it returns them, server after server. */
  async function* batches(): AsyncIterable<string[]> {
    const servers: Redis[] = isCluster(client)
      ? await mastersOfEverySlot(client)
      : [client];
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(
          cursor,
          'MATCH',
          pattern,
          'COUNT',
          SCAN_COUNT,
        );
        cursor = next;
        const ids = keys.flatMap((key) => sessionIdOfKey(key, prefix) ?? []);
        if (ids.length > 0) yield ids;
      } while (cursor !== '0');
    }
  }

  const read = (sids: string[]): Promise<(Buffer | null)[]> =>
    isCluster(client)
      ? Promise.all(keysOf(sids).map((key) => client.getBuffer(key)))
      : client.mgetBuffer(keysOf(sids));

  const remove = async (sids: string[]): Promise<number> =>
    isCluster(client)
      ? (await Promise.all(keysOf(sids).map((key) => client.del(key)))).reduce(
          (sum, n) => sum + n,
          0,
        )
      : client.del(keysOf(sids));

  return {
    ids: async function* (pageSize = DEFAULT_PAGE) {
      const page: string[] = [];
      for await (const ids of batches()) {
        page.push(...ids);
        while (page.length >= pageSize) yield page.splice(0, pageSize);
      }
      if (page.length > 0) yield page;
    },
    loadMany: async (sids) => {
      const found = new Map<string, SessionData>();
      if (sids.length === 0) return found;
      (await read(sids)).forEach((raw, i) => {
        const session = raw && codec.decode(raw);
        if (session) found.set(sids[i], session);
      });
      return found;
    },
    count: async () => {
      let count = 0;
      for await (const ids of batches()) count += ids.length;
      return count;
    },
    clear: async () => {
      let deleted = 0;
      for await (const ids of batches()) deleted += await remove(ids);
      return deleted;
    },
  };
}

/**
 * The connections to the masters that serve the cluster's slots now, from a slot map asked for
 * afresh (one CLUSTER SLOTS: a failover may have moved slots since the last). Throws when a
 * slot has no master the client can reach (not connected yet, or a master failing over): a
 * listing of the other masters alone would undercount without a word.
 */
async function mastersOfEverySlot(cluster: Cluster): Promise<Redis[]> {
  await new Promise<void>((resolve, reject) =>
    cluster.refreshSlotsCache((err) => (err ? reject(err) : resolve())),
  );
  const owners = new Set<string | undefined>();
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++)
    owners.add(cluster.slots[slot]?.[0]);
  const masters = cluster.nodes('master');
  return [...owners].map((owner) => {
    const master = masters.find(
      (node) => nodeAddress(node) === owner && node.status !== 'end',
    );
    if (!master)
      throw new Error(
        owner === undefined
          ? 'the cluster client knows no master for some slots'
          : `no connection to the master ${owner}`,
      );
    return master;
  });
}
