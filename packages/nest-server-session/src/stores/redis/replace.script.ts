import type { RedisClient } from './redis-mode.js';
import { defineScript } from './redis-script.js';

/**
 * Compare-and-set of one session key, in one round trip: the stored bytes are replaced only if
 * their SHA-1 is the version the caller read. KEYS[1] the key; ARGV: that SHA-1 (hex), the new
 * bytes, the TTL in seconds (SET ... EX, as a create writes). Replies 1 when written, 0 when
 * the key is gone (destroyed or expired: nothing is written), or the bytes stored now when
 * they are another version, so that the caller needs no second read. It reads and writes only
 * KEYS[1], so it runs unchanged on Redis Cluster.
 */
const REPLACE_SESSION_LUA = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if redis.sha1hex(current) ~= ARGV[1] then return current end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`;

export type ReplaceReply = 0 | 1 | Buffer;

/**
 * The script's call on `client`, with the conflicting bytes as a Buffer so msgpack sessions
 * survive.
 */
export const defineReplaceSession = (client: RedisClient) =>
  defineScript<
    [version: string, bytes: string | Buffer, ttlSeconds: number],
    ReplaceReply
  >(client, 'replaceSession', REPLACE_SESSION_LUA, { buffers: true });
