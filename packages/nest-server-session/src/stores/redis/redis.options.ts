import type { Cluster, Redis } from 'ioredis';
import { z } from 'zod';
import {
  ALWAYS,
  connectionUrl,
  flag,
  hostPorts,
  integer,
  text,
} from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';
import { fromEnv } from '../../options/env-vars.js';
import { redisProblems } from './redis-option-rules.js';

/** Where the store goes when nothing says otherwise. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** An ioredis client the app made itself: a `Redis` (one server or Sentinel) or a `Cluster`. */
export type RedisClientOption = Redis | Cluster;

const isSet = (value: string | undefined) => (value ?? '').trim() !== '';
const secret = (what: string) =>
  text(
    () => `must be a non-empty string (${what})`,
    (value) => value !== '',
  );

/** Options of the Redis store: one server, a Sentinel group or a Cluster. */
export const redisOptions = commonOptions
  .extend({
    type: z.literal('redis'),
    /**
     * One server: `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. One of `url`,
     * `clusterNodes`, `sentinels` or `client` says where Redis is.
     */
    url: fromEnv(
      'REDIS_URL',
      connectionUrl(['redis:', 'rediss:']).optional(),
      'one server: `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. See [Running past one machine](#running-past-one-machine)',
      {
        fallback: ({ env }) =>
          isSet(env.REDIS_CLUSTER_NODES) || isSet(env.REDIS_SENTINELS)
            ? undefined
            : DEFAULT_REDIS_URL,
        shownDefault: `\`${DEFAULT_REDIS_URL}\` unless \`REDIS_CLUSTER_NODES\` or \`REDIS_SENTINELS\` is set`,
      },
    ),
    /**
     * Redis Cluster: `host:port` of some of its nodes (the client learns the others from
     * them). Listings and clears visit every master.
     */
    clusterNodes: fromEnv(
      'REDIS_CLUSTER_NODES',
      hostPorts('one or more "host:port" of the cluster').optional(),
      'Redis Cluster: comma-separated `host:port` of some of its nodes; the client finds the others and follows slot moves and failovers',
      { shownDefault: 'unset' },
    ),
    /**
     * Redis Sentinel: `host:port` of the sentinels, which name the master (`sentinelName`)
     * and, after a failover, the new one.
     */
    sentinels: fromEnv(
      'REDIS_SENTINELS',
      hostPorts('one or more "host:port" of the sentinels').optional(),
      'Redis Sentinel: comma-separated `host:port` of the sentinels; the client connects to the master they name and follows a failover',
      { shownDefault: 'unset' },
    ),
    /** The name the sentinels know the master by (`sentinel monitor <name> ...`). */
    sentinelName: fromEnv(
      'REDIS_SENTINEL_NAME',
      text(
        (value) => `must be a master name, got "${String(value)}"`,
        (name) => name.trim() !== '',
      ).optional(),
      'the master name the sentinels monitor (`sentinel monitor <name> ...`); required with `REDIS_SENTINELS`',
    ),
    /** Password of the sentinels themselves, when they require one (`requirepass` on them). */
    sentinelPassword: fromEnv(
      'REDIS_SENTINEL_PASSWORD',
      secret('the sentinels’ password').optional(),
      'password of the sentinels, when they require one; never logged',
    ),
    /** ACL user on the Redis servers (with `password`); in a URL, its user part instead. */
    username: fromEnv(
      'REDIS_USERNAME',
      secret('an ACL user name').optional(),
      'ACL user of the Redis servers, in every mode (with `REDIS_URL` it may be in the URL instead)',
    ),
    /** Password on the Redis servers; in a URL, its password part instead. */
    password: fromEnv(
      'REDIS_PASSWORD',
      secret('a password').optional(),
      'password of the Redis servers, in every mode (with `REDIS_URL` it may be in the URL instead); never logged',
    ),
    /** Database number, for one server or Sentinel (a cluster has only 0). @default 0 */
    database: fromEnv(
      'REDIS_DB',
      integer('must be a database number, 0 or more', 0).optional(),
      'database number with `REDIS_URL` (or its `/db` path) or `REDIS_SENTINELS`; a cluster has only database 0',
      { shownDefault: '`0`' },
    ),
    /**
     * TLS to every server (and every sentinel): verified against the system's CAs
     * (`NODE_EXTRA_CA_CERTS` adds one). `rediss://` implies it. @default false
     */
    tls: fromEnv(
      'REDIS_TLS',
      flag().optional(),
      'TLS to every Redis server and sentinel, verified against the system CAs (`NODE_EXTRA_CA_CERTS` adds one); `rediss://` turns it on',
      { shownDefault: '`false` (`true` with `rediss://`)' },
    ),
    /**
     * An ioredis `Redis` or `Cluster` of the app's own (`forRoot` only), used as given: its
     * own settings replace the store's fail-fast ones (each call still has the store
     * deadline). The app closes it: the store never does.
     */
    client: z
      .custom<RedisClientOption>(isRedisClient, {
        error: 'must be an ioredis Redis or Cluster client',
      })
      .optional(),
  })
  .superRefine((options, ctx) => {
    for (const [path, message, env] of redisProblems(options))
      ctx.addIssue({ code: 'custom', path: [path], message, params: { env } });
  }, ALWAYS);

/** Whether `value` looks like an ioredis client (no import of ioredis here: it is optional). */
function isRedisClient(value: unknown): boolean {
  const client = value as Partial<Record<string, unknown>> | null;
  return (
    typeof client === 'object' &&
    client !== null &&
    typeof client.sendCommand === 'function' &&
    typeof client.defineCommand === 'function'
  );
}
