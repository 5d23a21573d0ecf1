import type { Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { isCluster, type RedisClient } from './redis-mode.js';

/** Sockets already batching, so that a connection seen twice is wrapped once. */
const batching = new WeakSet<Socket>();

/**
 * Makes the commands a client writes in one turn of the event loop (the replies of many
 * requests in flight arrive together, and so do the commands they lead to) leave in one
 * network write instead of one each: the socket writes are most of a store call's CPU, at
 * 32 calls in flight a third of it. Each command is still written at once, with its own
 * timeout and reply; only the flush waits, to the end of the turn. (ioredis's own automatic
 * pipelining batches too, but sends a batch only once the one before has been answered: on a
 * slow link a command could then wait two round trips, past the store deadline.)
 */
export function batchWrites(client: RedisClient): void {
  if (isCluster(client)) {
    client.on('+node', (node: Redis) => batchWrites(node));
    for (const node of client.nodes()) batchWrites(node);
    return;
  }
  // Each reconnection makes a new socket.
  client.on('connect', () => corkEachTurn(client.stream as Socket));
  if (client.stream) corkEachTurn(client.stream as Socket);
}

function corkEachTurn(socket: Socket): void {
  if (batching.has(socket)) return;
  batching.add(socket);
  const write = socket.write;
  socket.write = function (this: Socket, ...args: unknown[]): boolean {
    if (this.writableCorked === 0) {
      this.cork();
      process.nextTick(uncork, this);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as Socket['write'];
}

const uncork = (socket: Socket) => socket.uncork();
