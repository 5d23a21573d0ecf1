import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort } from './free-port.js';
import {
  commonNodeArgs,
  infoFields,
  RedisNode,
  waitFor,
} from './redis-node.js';
import { securedServerArgs, type RedisSecurity } from './redis-security.js';

const run = promisify(execFile);

/** Short, so that a failover takes seconds rather than the default's 15+. */
const NODE_TIMEOUT_MS = 2000;

/**
 * A Redis Cluster of private servers on free ports (each with its bus on another free port):
 * `masters` masters, each with one replica, created by `redis-cli --cluster create`, ready
 * when every node says `cluster_state:ok` and every replica's link to its master is up.
 */
export class RedisCluster {
  private constructor(readonly nodes: RedisNode[]) {}

  /**
   * With `security`, the nodes take clients and talk among themselves over TLS only (their
   * bus too), and only its ACL user gets in.
   */
  static async start({
    masters = 3,
    security,
  }: {
    masters?: number;
    security?: RedisSecurity;
  } = {}): Promise<RedisCluster> {
    const nodes: RedisNode[] = [];
    const cluster = new RedisCluster(nodes);
    try {
      for (let i = 0; i < masters * 2; i++)
        nodes.push(await startClusterNode(security));
      await run(
        'redis-cli',
        [
          ...(security ? redisCliSecurity(security) : []),
          '--cluster',
          'create',
          ...nodes.map((node) => node.address),
          '--cluster-replicas',
          '1',
          '--cluster-yes',
        ],
        { timeout: 30_000 },
      );
      await cluster.waitUntilHealthy();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  /** `host:port` of every node, comma-separated: REDIS_CLUSTER_NODES. */
  get seeds(): string {
    return this.nodes.map((node) => node.address).join(',');
  }

  /** Every running node agrees the cluster is ok, and every replica's link is up. */
  async waitUntilHealthy(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      'the cluster to be ok with every replica in sync',
      async () => {
        for (const node of this.nodes) {
          if (!node.running) continue;
          const [cluster, replication, view] = await node.ask((client) =>
            Promise.all([
              client.cluster('INFO') as Promise<string>,
              client.info('replication'),
              client.cluster('NODES') as Promise<string>,
            ]),
          );
          if (infoFields(cluster).cluster_state !== 'ok') return false;
          const role = infoFields(replication);
          if (role.role === 'slave' && role.master_link_status !== 'up')
            return false;
          // Gossip has told this node every other's role: a replica it still takes for a master
          // (one without slots) would show on /health as a fourth master.
          if (!settledView(view, this.nodes.filter((n) => n.running).length))
            return false;
        }
        return true;
      },
      timeoutMs,
    );
  }

  /** The node that serves `key`'s slot now, as a running node tells. */
  async masterOf(key: string): Promise<RedisNode> {
    const asked = this.nodes.find((node) => node.running)!;
    const [slot, ranges] = await asked.ask((client) =>
      Promise.all([
        client.cluster('KEYSLOT', key) as Promise<number>,
        client.cluster('SLOTS'),
      ]),
    );
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    const port = range?.[2][1];
    // Asked over plain text, a TLS cluster names its nodes' plain-text ports.
    const node = this.nodes.find(
      (n) => n.port === port || n.clientPort === port,
    );
    if (!node) throw new Error(`no node serves slot ${slot}`);
    return node;
  }

  /** A running replica of `master`, by the replicas' own account. */
  async replicaOf(master: RedisNode): Promise<RedisNode> {
    for (const node of this.nodes) {
      if (!node.running || node === master) continue;
      const info = infoFields(
        await node.ask((client) => client.info('replication')),
      );
      if (
        info.role === 'slave' &&
        info.master_port === String(master.clientPort)
      )
        return node;
    }
    throw new Error(`no replica of ${master.address}`);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
  }
}

/**
 * A node's CLUSTER NODES answer lists `running` nodes, none in a handshake or failing, and every
 * master among them serves slots.
 */
function settledView(view: string, running: number): boolean {
  const lines = view.split('\n').filter((line) => line.trim() !== '');
  const live = lines
    .map((line) => line.split(' '))
    .filter(([, , flags]) => !/fail|handshake|noaddr/.test(flags));
  return (
    live.length === running &&
    live.every(
      ([, , flags, , , , , , ...slots]) =>
        !flags.split(',').includes('master') ||
        slots.some((range) => /^\d/.test(range)),
    )
  );
}

/** The arguments of a cluster node whose bus listens on `busPort`. */
export function clusterNodeArgs(
  port: number,
  dir: string,
  busPort: number,
): string[] {
  return [
    ...commonNodeArgs(port, dir),
    '--cluster-enabled',
    'yes',
    '--cluster-port',
    String(busPort),
    '--cluster-config-file',
    `${dir}/nodes.conf`,
    '--cluster-node-timeout',
    String(NODE_TIMEOUT_MS),
    '--repl-diskless-sync',
    'yes',
    '--repl-diskless-sync-delay',
    '0',
  ];
}

/** A cluster node, its bus on a free port of its own; secured, on TLS only (bus included). */
async function startClusterNode(security?: RedisSecurity): Promise<RedisNode> {
  const busPort = await freePort();
  const tlsPort = security && (await freePort());
  return RedisNode.start(
    (port, dir) => [
      ...clusterNodeArgs(port, dir, busPort),
      ...(security && tlsPort
        ? [...securedServerArgs(security, tlsPort), '--tls-cluster', 'yes']
        : []),
    ],
    { clientPort: tlsPort, auth: security?.auth },
  );
}

/** redis-cli's options for secured nodes. */
function redisCliSecurity(security: RedisSecurity): string[] {
  return [
    '--tls',
    '--cacert',
    security.caFile,
    '--user',
    security.username,
    '--pass',
    security.password,
    '--no-auth-warning',
  ];
}
