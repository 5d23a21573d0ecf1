import type { RedisClient } from './redis-mode.js';
import { defineScript } from './redis-script.js';

/*
 * A session and its user's index entry, written or deleted in one command. Both scripts name
 * two keys in different hash slots, the user's hash and the session: only where one server
 * holds every key (one Redis, the master Sentinel names), never on a cluster.
 */

/**
 * A login in one command: adds the session to its user's hash, writes the session (SET ... EX,
 * as a create does) and counts the hash. KEYS[1] the user's hash, KEYS[2] the session's key;
 * ARGV the session id, its device (JSON), the session's bytes and TTL in seconds. Replies with
 * the hash's entry count (what tells a login to prune). The entry goes first: a script stops
 * at its first failing command (a hash key of another type, say) and undoes nothing, so a
 * failure leaves at most an entry without its session, which listings skip and pruning drops,
 * never a session its user's list lacks.
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

/**
 * A logout in one command: deletes the session and its entry in its user's hash. KEYS[1] the
 * user's hash, KEYS[2] the session's key; ARGV[1] the session id. Replies with how many
 * sessions went (1, or 0 when it had already ended).
 */
const DESTROY_OWNED_SESSION_LUA = `
local deleted = redis.call('DEL', KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[1])
return deleted
`;

/** The script's call on `client`. */
export const defineDestroyOwnedSession = (client: RedisClient) =>
  defineScript<[sessionKey: string, sid: string], number>(
    client,
    'destroyOwnedSession',
    DESTROY_OWNED_SESSION_LUA,
    { keys: 2 },
  );
