import type { RedisClient } from './redis-mode.js';
import { defineScript } from './redis-script.js';

/**
 * Adds a session to its user's hash and counts the hash, in one command: a login's index entry
 * costs one round trip and one reply to parse rather than HSET and HLEN apart. KEYS[1] the
 * user's hash; ARGV the session id and its device (JSON). Replies with the hash's entry count.
 * It names only KEYS[1], so it runs unchanged on Redis Cluster.
 */
const ADD_INDEX_ENTRY_LUA = `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HLEN', KEYS[1])
`;

/** The script's call on `client`. */
export const defineAddIndexEntry = (client: RedisClient) =>
  defineScript<[sid: string, device: string], number>(
    client,
    'addSessionIndexEntry',
    ADD_INDEX_ENTRY_LUA,
  );
