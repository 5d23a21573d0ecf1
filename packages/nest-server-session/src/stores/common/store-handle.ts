import type { SessionType } from '../../options/session.options.js';
import type {
  SessionBackend,
  StoreHealth,
  SweepOptions,
} from '../store.contract.js';
import type { ConsistentStore } from './consistent-store.js';

/** What the module builds for the configured type: express-session's store and its lifecycle. */
export interface SessionStoreHandle {
  type: SessionType;
  /** The store express-session uses: the backend behind deadlines and compare-and-set writes. */
  store: ConsistentStore;
  /** The store's own operations, unguarded (admin tools, tests). */
  backend: SessionBackend;
  /** Resolves when the store answers a trivial request; used by health checks. */
  ping(): Promise<void>;
  /**
   * What a health check reports, within the store deadline: `ok`, and where the store can
   * tell, its mode and servers. Never rejects.
   */
  health(): Promise<StoreHealth>;
  /**
   * Deletes expired sessions of every prefix and returns how many went; only on stores with no
   * expiry of their own (sql, filesystem), whose expired entries never load but stay on disk.
   */
  removeExpired?(options?: SweepOptions): Promise<number>;
  /** Releases connections and timers; called when the Nest app shuts down. */
  close(): Promise<void>;
}
