import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import {
  commonNodeArgs,
  infoFields,
  RedisNode,
  waitFor,
} from './redis-node.js';
import {
  securedServerArgs,
  tlsArgs,
  type RedisSecurity,
} from './redis-security.js';

/** The name the sentinels know the master by: REDIS_SENTINEL_NAME. */
export const SENTINEL_MASTER_NAME = 'sessions';
/** How long a master may be silent before a sentinel thinks it down. */
const DOWN_AFTER_MS = 1000;
const SENTINELS = 3;

/**
 * A Sentinel group of private servers on free ports: a master, one replica and three
 * sentinels (quorum 2), each sentinel started on a fresh config file that already names the
 * replica and the other sentinels, so that none has to discover them (which takes seconds).
 */
export class RedisSentinelGroup {
  private constructor(
    /** The master first, then the replica, as started (their roles change on failover). */
    readonly servers: RedisNode[],
    readonly sentinels: RedisNode[],
  ) {}

  /**
   * With `security`, servers and sentinels take clients and talk among themselves over TLS
   * only, the servers let only its ACL user in and the sentinels ask for their own password.
   */
  static async start({
    security,
  }: { security?: RedisSecurity } = {}): Promise<RedisSentinelGroup> {
    const group = new RedisSentinelGroup([], []);
    try {
      const master = await startDataNode(security);
      group.servers.push(master);
      group.servers.push(await startDataNode(security, master));
      const ids = Array.from({ length: SENTINELS }, () =>
        randomBytes(20).toString('hex'),
      );
      const ports = await Promise.all(ids.map(() => freePort()));
      const tlsPorts = await Promise.all(
        ids.map(() => (security ? freePort() : Promise.resolve(undefined))),
      );
      const clientPorts = ports.map((port, i) => tlsPorts[i] ?? port);
      for (let i = 0; i < SENTINELS; i++)
        group.sentinels.push(
          await startSentinel(ports[i], tlsPorts[i], security, [
            `sentinel myid ${ids[i]}`,
            `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${master.clientPort} 2`,
            `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} ${DOWN_AFTER_MS}`,
            `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 5000`,
            `sentinel known-replica ${SENTINEL_MASTER_NAME} 127.0.0.1 ${group.servers[1].clientPort}`,
            ...clientPorts.flatMap((port, j) =>
              j === i
                ? []
                : [
                    `sentinel known-sentinel ${SENTINEL_MASTER_NAME} 127.0.0.1 ${port} ${ids[j]}`,
                  ],
            ),
          ]),
        );
      await group.waitUntilSettled();
      return group;
    } catch (err) {
      await group.stop();
      throw err;
    }
  }

  /** `host:port` of every sentinel, comma-separated: REDIS_SENTINELS. */
  get addresses(): string {
    return this.sentinels.map((node) => node.address).join(',');
  }

  /**
   * Every sentinel names the same master, sees a replica in sync and the two other
   * sentinels, and that master's replica has its link up.
   */
  async waitUntilSettled(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      'the Sentinel group to settle',
      async () => {
        const master = await this.master();
        for (const sentinel of this.sentinels) {
          const seen = await sentinel.ask(async (client) => {
            const fields = pairs(
              (await client.call(
                'SENTINEL',
                'MASTER',
                SENTINEL_MASTER_NAME,
              )) as string[],
            );
            const replicas = (
              (await client.call(
                'SENTINEL',
                'REPLICAS',
                SENTINEL_MASTER_NAME,
              )) as string[][]
            ).map(pairs);
            return { fields, replicas };
          });
          if (
            seen.fields.port !== String(master.clientPort) ||
            seen.fields.flags !== 'master' ||
            seen.fields['num-other-sentinels'] !== String(SENTINELS - 1) ||
            !seen.replicas.some(
              (r) => r.flags === 'slave' && r['master-link-status'] === 'ok',
            )
          )
            return false;
        }
        const replicas = this.servers.filter((s) => s !== master && s.running);
        for (const replica of replicas) {
          const info = infoFields(
            await replica.ask((c) => c.info('replication')),
          );
          if (info.role !== 'slave' || info.master_link_status !== 'up')
            return false;
          if (info.master_port !== String(master.clientPort)) return false;
        }
        return true;
      },
      timeoutMs,
    );
  }

  /** The server that the first answering sentinel names master now. */
  async master(): Promise<RedisNode> {
    for (const sentinel of this.sentinels) {
      if (!sentinel.running) continue;
      const [, port] = (await sentinel.ask((client) =>
        client.call(
          'SENTINEL',
          'GET-MASTER-ADDR-BY-NAME',
          SENTINEL_MASTER_NAME,
        ),
      )) as [string, string];
      const server = this.servers.find((s) => s.clientPort === Number(port));
      if (server) return server;
    }
    throw new Error('no sentinel names a master');
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.sentinels, ...this.servers].map((node) => node.stop()),
    );
  }
}

/** A master, or a replica of `master`: replicas sync without a disk and without a delay. */
async function startDataNode(
  security?: RedisSecurity,
  master?: RedisNode,
): Promise<RedisNode> {
  const tlsPort = security && (await freePort());
  return RedisNode.start(
    (port, dir) => [
      ...commonNodeArgs(port, dir),
      '--repl-diskless-sync',
      'yes',
      '--repl-diskless-sync-delay',
      '0',
      ...(security && tlsPort ? securedServerArgs(security, tlsPort) : []),
      ...(master
        ? ['--replicaof', '127.0.0.1', String(master.clientPort)]
        : []),
    ],
    { clientPort: tlsPort, auth: security?.auth },
  );
}

/** A sentinel on `port`, from a config file of its own (sentinels rewrite theirs). */
async function startSentinel(
  port: number,
  tlsPort: number | undefined,
  security: RedisSecurity | undefined,
  lines: string[],
): Promise<RedisNode> {
  const secured =
    security && tlsPort
      ? [
          ...pairsOf(tlsArgs(security, tlsPort)),
          `requirepass ${security.sentinelPassword}`,
          `sentinel sentinel-pass ${security.sentinelPassword}`,
          `sentinel auth-user ${SENTINEL_MASTER_NAME} ${security.username}`,
          `sentinel auth-pass ${SENTINEL_MASTER_NAME} ${security.password}`,
        ]
      : [];
  return RedisNode.startOn(
    port,
    async (dir) => {
      const file = join(dir, 'sentinel.conf');
      await writeFile(
        file,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${dir}`,
          `logfile ${join(dir, 'sentinel.log')}`,
          ...secured,
          ...lines,
          '',
        ].join('\n'),
      );
      return [file, '--sentinel'];
    },
    {
      clientPort: tlsPort,
      auth: security && { password: security.sentinelPassword },
    },
  );
}

/** `--name value` arguments as config file lines. */
function pairsOf(args: string[]): string[] {
  const lines: string[] = [];
  for (let i = 0; i + 1 < args.length; i += 2)
    lines.push(`${args[i].slice(2)} ${args[i + 1]}`);
  return lines;
}

/** A flat `[key, value, key, value, ...]` answer as an object. */
function pairs(flat: string[]): Record<string, string> {
  const object: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) object[flat[i]] = flat[i + 1];
  return object;
}
