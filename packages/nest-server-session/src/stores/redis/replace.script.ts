import type { RedisClient } from './redis-mode.js';

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

type ReplaceCommand = (
  key: string,
  version: string,
  bytes: string | Buffer,
  ttlSeconds: number,
) => Promise<ReplaceReply>;

/**
 * Registers the script on `client` (ioredis sends it with EVAL the first time on a connection,
 * by EVALSHA after that, and again by EVAL when a restarted server no longer has it) and
 * returns the call, with the conflicting bytes as a Buffer so msgpack sessions survive.
 */
export function defineReplaceSession(client: RedisClient): ReplaceCommand {
  client.defineCommand('replaceSession', {
    numberOfKeys: 1,
    lua: REPLACE_SESSION_LUA,
  });
  const commands = client as unknown as {
    replaceSessionBuffer: ReplaceCommand;
  };
  return (...args) => commands.replaceSessionBuffer(...args);
}
