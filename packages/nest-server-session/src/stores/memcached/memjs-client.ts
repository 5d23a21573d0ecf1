import { Logger } from '@nestjs/common';
import { Client, type Server } from 'memjs';
import {
  perform,
  type BinaryReply,
  type BinaryRequest,
} from './memjs-binary.js';
import { superviseSockets } from './memjs-sockets.js';

/** A memjs client as the memcached store uses it. */
export interface MemjsConnection {
  /**
   * Sends `request` for `key` to the key's server. Rejects once the store timeout has passed,
   * and then drops that server's connection: its answers are not coming, and the next call
   * opens a new one. An answer ends the server's outage.
   */
  send(key: string, request: BinaryRequest): Promise<BinaryReply>;
  /** Resolves once every server has answered `stats`; rejects on the first that fails. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * memjs over `servers` (`host:port` each), set to fail within `timeoutMs` while a server is down
 * or stalled: one attempt per call (memjs counts `retries` as attempts) and no failover, which
 * would move keys to another server and back. memjs connects on first use and again on the
 * next call after a failure, so nothing here waits for memcached to be up.
 */
export function connectMemjs(
  servers: string[],
  timeoutMs: number,
): MemjsConnection {
  const outages = new OutageLog();
  const client = Client.create(servers.join(','), {
    timeout: timeoutMs / 1000,
    conntimeout: timeoutMs / 1000,
    retries: 1,
    failover: false,
    // TCP keepalive notices a silently dropped connection before a request waits on it.
    keepAlive: true,
    logger: outages.memjsLogger,
  });
  const closers = client.servers.map((server) => superviseSockets(server));
  const timedOut = () =>
    new Error(`memcached did not answer within ${timeoutMs} ms`);
  return {
    send: (key, request) =>
      new Promise((resolve, reject) => {
        const server = client.server(key);
        // memjs's own timeout counts idle time on the socket, which each new request resets:
        // on a connection that went silent under steady traffic it would never fire.
        const timer = setTimeout(() => {
          const err = timedOut();
          server?.error(err);
          reject(err);
        }, timeoutMs);
        perform(client, key, request, (err, reply) => {
          clearTimeout(timer);
          const address = server ? addressOf(server) : 'server';
          if (err)
            return reject(new Error(`memcached ${address}: ${err.message}`));
          outages.answered(address);
          resolve(reply!);
        });
      }),
    ping: () => statsAll(client, outages, timeoutMs, timedOut),
    close: async () => {
      await Promise.all(closers.map((close) => close(timeoutMs)));
    },
  };
}

const addressOf = (server: Server) => `${server.host}:${server.port}`;

/** Logs each server's outage once rather than once per failed call, and its end. */
class OutageLog {
  private readonly logger = new Logger('MemcachedSessionStore');
  private readonly failing = new Set<string>();
  /** Replaces memjs's console output; its failure lines name the server as `<host:port>`. */
  readonly memjsLogger = {
    log: (message: unknown) => {
      const text = String(message);
      this.failed(/<([^>]+)>/.exec(text)?.[1] ?? text, text);
    },
  };

  failed(server: string, message: string): void {
    if (!this.failing.has(server)) this.logger.warn(message);
    this.failing.add(server);
  }

  answered(server: string): void {
    if (this.failing.delete(server))
      this.logger.log(`Memcached ${server} answering again`);
  }
}

/**
 * `stats` on every server; rejects on the first failure, or once `timeoutMs` have passed, then
 * dropping the connections of the servers that did not answer, as a call would.
 */
function statsAll(
  client: Client,
  outages: OutageLog,
  timeoutMs: number,
  timedOut: () => Error,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const waiting = new Map(client.servers.map((s) => [addressOf(s), s]));
    const timer = setTimeout(() => {
      const err = timedOut();
      for (const [address, server] of waiting) {
        outages.failed(address, `Memcached ${address}: ${err.message}`);
        server.error(err);
      }
      reject(err);
    }, timeoutMs);
    client.stats((err, address) => {
      waiting.delete(address);
      if (waiting.size === 0) clearTimeout(timer);
      if (err) {
        outages.failed(
          address,
          `Memcached ${address} unreachable: ${err.message}`,
        );
        return reject(new Error(`memcached ${address}: ${err.message}`));
      }
      outages.answered(address);
      if (waiting.size === 0) resolve();
    });
  });
}
