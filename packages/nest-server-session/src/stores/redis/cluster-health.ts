import type { Cluster } from 'ioredis';
import type { StoreHealth, StoreNodeHealth } from '../store.contract.js';
import { nodeAddress } from './redis-mode.js';

/** Every slot of a Redis Cluster. */
const CLUSTER_SLOTS = 16384;

/** A server that did not answer, of a role it did not tell. */
export const down = (address: string): StoreNodeHealth => ({
  address,
  role: 'unknown',
  up: false,
});

/**
 * A cluster is healthy when the node asked says `cluster_state:ok` with every slot served,
 * none of its masters is failing, and every master the client routes to answers.
 */
export async function clusterHealth(cluster: Cluster): Promise<StoreHealth> {
  const masters = cluster.nodes('master');
  const pings = await Promise.allSettled(masters.map((node) => node.ping()));
  const reachable = masters.filter((_, i) => pings[i].status === 'fulfilled');
  if (reachable.length === 0)
    return {
      ok: false,
      mode: 'cluster',
      nodes: masters.map((node) => ({
        ...down(nodeAddress(node)),
        role: 'master' as const,
      })),
      problem: 'no master answers',
    };
  const viewer = reachable[0];
  const [info, listing] = await Promise.all([
    viewer.cluster('INFO') as Promise<string>,
    viewer.cluster('NODES') as Promise<string>,
  ]);
  const state = fieldsOf(info);
  const nodes = clusterNodes(listing);
  const unanswered = masters.length - reachable.length;
  // A failed master whose slots went to its replica no longer matters to the sessions.
  const failing = nodes.filter((n) => n.servesSlots && !n.up).length;
  const problem =
    state.cluster_state !== 'ok'
      ? `cluster_state:${state.cluster_state}`
      : Number(state.cluster_slots_ok) !== CLUSTER_SLOTS
        ? `only ${state.cluster_slots_ok} of ${CLUSTER_SLOTS} slots served`
        : unanswered > 0
          ? `${unanswered} master(s) do not answer`
          : failing > 0
            ? `${failing} master(s) failing`
            : undefined;
  return {
    ok: problem === undefined,
    mode: 'cluster',
    nodes: nodes.map(({ address, role, up }) => ({ address, role, up })),
    ...(problem && { problem }),
  };
}

/** A node of a CLUSTER NODES answer, and whether it serves slots (a master that holds some). */
interface ClusterNode extends StoreNodeHealth {
  servesSlots: boolean;
}

/** The nodes of a CLUSTER NODES answer, handshakes and address-less ones left out. */
function clusterNodes(listing: string): ClusterNode[] {
  return listing
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split(' '))
    .filter(([, , flags]) => !/handshake|noaddr/.test(flags))
    .map(([, endpoint, flags, , , , , link, ...slots]) => {
      const flagList = flags.split(',');
      return {
        address: endpoint.split('@')[0],
        role: flagList.includes('master')
          ? ('master' as const)
          : flagList.includes('slave')
            ? ('replica' as const)
            : ('unknown' as const),
        up:
          link === 'connected' &&
          !flagList.includes('fail') &&
          !flagList.includes('fail?'),
        servesSlots: slots.some((range) => /^\d/.test(range)),
      };
    })
    .toSorted((a, b) => a.address.localeCompare(b.address));
}

/** `field:value` lines of an INFO-like answer. */
function fieldsOf(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split(/\r?\n/)
      .filter((line) => line.includes(':'))
      .map((line) => [
        line.slice(0, line.indexOf(':')),
        line.slice(line.indexOf(':') + 1).trim(),
      ]),
  );
}
