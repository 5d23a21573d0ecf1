import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';
import { ServerProcess } from './server-process.js';

/**
 * One redis-server of a cluster or a Sentinel group, on a free port, in a folder of its own
 * that survives a kill (a cluster node finds its nodes.conf there when it restarts). Keeps
 * no data on disk (no RDB, no AOF unless asked): a replica's data comes from its master.
 */
export class RedisNode extends ServerProcess {
  /** Added to the arguments at the next start (a revive as a replica). */
  private extraArgs: string[] = [];

  private constructor(
    port: number,
    readonly dir: string,
    args: string[],
    /** The port apps use: the TLS one of a secured node. */
    readonly clientPort: number,
    private readonly auth?: NodeAuth,
  ) {
    super(port, {
      command: 'redis-server',
      debianPackage: 'redis-server',
      args: () => [...args, ...this.extraArgs],
      probe: auth
        ? {
            request: `AUTH ${[auth.username, auth.password].filter(Boolean).join(' ')}\r\n`,
            answer: '+OK',
          }
        : { request: 'PING\r\n', answer: '+PONG' },
    });
  }

  /** Starts redis-server with `args(port, dir)` on a free port. */
  static async start(
    args: (port: number, dir: string) => string[],
    options: NodeOptions = {},
  ): Promise<RedisNode> {
    const port = await freePort();
    return RedisNode.startOn(
      port,
      (dir) => Promise.resolve(args(port, dir)),
      options,
    );
  }

  /** Starts redis-server on `port` with the arguments `prepare` makes in its new folder. */
  static async startOn(
    port: number,
    prepare: (dir: string) => Promise<string[]>,
    { clientPort = port, auth }: NodeOptions = {},
  ): Promise<RedisNode> {
    const dir = await mkdtemp(join(tmpdir(), 'redis-node-'));
    try {
      const node = new RedisNode(
        port,
        dir,
        await prepare(dir),
        clientPort,
        auth,
      );
      await node.launch();
      return node;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** `host:port` apps use. */
  get address(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  /**
   * Starts it again on the same port and folder, after a kill; with `replicaOf`, as its replica
   * (as a server whose config a sentinel rewrote comes back), else as it was started.
   */
  async revive(replicaOf?: RedisNode): Promise<void> {
    this.extraArgs = replicaOf
      ? ['--replicaof', '127.0.0.1', String(replicaOf.clientPort)]
      : [];
    await this.launch();
  }

  /** A short-lived client of this node, for the tests' own questions. */
  async ask<T>(question: (client: Redis) => Promise<T>): Promise<T> {
    const client = new Redis(this.port, '127.0.0.1', {
      ...this.auth,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: 1000,
      commandTimeout: 2000,
      lazyConnect: true,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await question(client);
    } finally {
      client.disconnect();
    }
  }

  async stop(): Promise<void> {
    await super.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Credentials of a node that requires them (for the tests' own plain-text connections). */
export interface NodeAuth {
  username?: string;
  password: string;
}

export interface NodeOptions {
  /** The port apps use, where it is not the plain-text one (TLS). */
  clientPort?: number;
  auth?: NodeAuth;
}

/** Arguments every test server takes: loopback only, no RDB snapshots, logs in its folder. */
export function commonNodeArgs(port: number, dir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--logfile',
    join(dir, 'redis.log'),
  ];
}

/** Whether `node` is a replica whose link to its master is up (it has synced). */
export async function isSyncedReplica(node: RedisNode): Promise<boolean> {
  const info = infoFields(
    await node.ask((client) => client.info('replication')),
  );
  return info.role === 'slave' && info.master_link_status === 'up';
}

/** Repeats `check` until it returns true, or throws `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `field:value` lines of an INFO or CLUSTER INFO answer. */
export function infoFields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(':') && !line.startsWith('#'))
      .map((line) => {
        const at = line.indexOf(':');
        return [line.slice(0, at), line.slice(at + 1).trim()];
      }),
  );
}
