import type { RedisClient } from './redis-mode.js';
import { defineScript } from './redis-script.js';

/**
 * A login in one command: adds the session to its user's hash, writes the session (SET ... EX,
 * as a create does) and counts the hash. KEYS[1] the user's hash, KEYS[2] the session's key;
 * ARGV the session id, its device (JSON), the session's bytes and TTL in seconds. Replies with
 * the hash's entry count (what tells a login to prune). The entry goes first: a script stops
 * at its first failing command (a hash key of another type, say) and undoes nothing, so a
 * failure leaves at most an entry without its session, which listings skip and pruning drops,
 * never a session its user's list lacks.
 *
 * Two keys in different hash slots: only where one server holds every key (one Redis, the
 * master Sentinel names), never on a cluster.
 */
const CREATE_OWNED_SESSION_LUA = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
return redis.call('HLEN', KEYS[1])
`;

/** The script's call on `client`. */
export const defineCreateOwnedSession = (client: RedisClient) =>
  defineScript<
    [
      sessionKey: string,
      sid: string,
      device: string,
      bytes: string | Buffer,
      ttlSeconds: number,
    ],
    number
  >(client, 'createOwnedSession', CREATE_OWNED_SESSION_LUA, { keys: 2 });
