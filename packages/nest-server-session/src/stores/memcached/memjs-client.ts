import { Logger } from '@nestjs/common';
import { Client } from 'memjs';
import { withDeadline } from '../common/deadline.js';
import { superviseSockets } from './memjs-sockets.js';

/** Added to the store timeout for calls memjs never answers, should it lose one. */
const BACKSTOP_MS = 500;

/** A memjs client as the memcached store uses it. */
export interface MemjsConnection {
  client: Client;
  /** `work` on `key`, failed once the store timeout has passed; a success ends an outage. */
  call<T>(key: string, work: Promise<T>): Promise<T>;
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
  return {
    client,
    call: async (key, work) => {
      const result = await within(timeoutMs + BACKSTOP_MS, work);
      const server = client.server(key);
      if (server) outages.answered(`${server.host}:${server.port}`);
      return result;
    },
    ping: () => within(timeoutMs + BACKSTOP_MS, statsAll(client, outages)),
    close: async () => {
      await Promise.all(closers.map((close) => close(timeoutMs)));
    },
  };
}

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

function statsAll(client: Client, outages: OutageLog): Promise<void> {
  return new Promise((resolve, reject) => {
    const answered = new Set<string>();
    client.stats((err, server) => {
      if (err) {
        outages.failed(
          server,
          `Memcached ${server} unreachable: ${err.message}`,
        );
        return reject(new Error(`memcached ${server}: ${err.message}`));
      }
      outages.answered(server);
      answered.add(server);
      if (answered.size === client.servers.length) resolve();
    });
  });
}

/** `work`, failed with a message naming memcached once `ms` have passed. */
const within = <T>(ms: number, work: Promise<T>): Promise<T> =>
  withDeadline(
    work,
    ms,
    () => new Error(`memcached did not answer within ${ms} ms`),
  );
