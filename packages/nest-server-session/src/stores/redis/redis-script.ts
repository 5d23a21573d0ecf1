import type { RedisClient } from './redis-mode.js';

/**
 * Registers a Lua script on `client` and returns the call. ioredis sends it with EVAL the
 * first time on a connection, by EVALSHA after that, and again by EVAL when a restarted server
 * no longer has it. `keys`: how many of the first arguments are keys (one, unless the script
 * is only ever run where all its keys are on one server). `buffers`: string replies come back
 * as Buffers (bytes a msgpack session holds must survive).
 */
export function defineScript<Args extends unknown[], Reply>(
  client: RedisClient,
  name: string,
  lua: string,
  { buffers = false, keys = 1 } = {},
): (key: string, ...args: Args) => Promise<Reply> {
  client.defineCommand(name, { numberOfKeys: keys, lua });
  const command = (
    client as unknown as Record<
      string,
      (key: string, ...args: Args) => Promise<Reply>
    >
  )[buffers ? `${name}Buffer` : name];
  return (key, ...args) => command.call(client, key, ...args);
}
