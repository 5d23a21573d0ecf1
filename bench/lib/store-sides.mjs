/** The sides of a store-level comparison: our store (as shipped, and touching every time) and its peers. */
import { openOurStore } from './our-store.mjs';
import { PEERS } from './peer-stores.mjs';
import { OPERATIONS } from './store-workload.mjs';

/** Room for the memory stores: the filled sessions and a round's logins. */
const MEMORY_MAX_SESSIONS = 1_000_000;

/**
 * The sides of one kind: ours as the app builds it, ours with every touch reaching the store
 * (touchAfter 0, for the touch and page-view comparisons), and each peer.
 */
export async function openSides(kind, server, cleanup) {
  const options = kind === 'memory' ? { maxSessions: MEMORY_MAX_SESSIONS } : {};
  const ours = await openOurStore(kind, server, cleanup, {
    label: 'ours',
    options,
  });
  const everyTouch = await openOurStore(kind, server, cleanup, {
    label: 'ours0',
    env: { SESSION_TOUCH_AFTER: '0' },
    options,
  });
  const sides = [
    {
      ...ours,
      label: 'ours',
      ours: true,
      operations: OPERATIONS.filter((o) => o.id !== 'touch'),
    },
    {
      ...everyTouch,
      label: 'ours, touchAfter 0',
      ours: true,
      operations: OPERATIONS.filter((o) =>
        ['touch', 'page-view'].includes(o.id),
      ),
    },
  ];
  for (const peer of PEERS[kind]) {
    const opened = await peer.open(server, cleanup);
    sides.push({
      ...opened,
      label: peer.name,
      package: peer.package,
      ours: false,
      operations: OPERATIONS,
    });
  }
  return sides;
}
