import type { Store } from 'express-session';
import type { SessionType } from '../../session.options.js';

/** What each store file builds: the express-session store plus its lifecycle. */
export interface SessionStoreHandle {
  type: SessionType;
  store: Store;
  /** Resolves when the store answers a trivial request; used by health checks. */
  ping(): Promise<void>;
  /**
   * Deletes expired sessions of every prefix and returns how many went; only on stores with no
   * expiry of their own (sql, filesystem), whose expired entries never load but stay on disk.
   */
  removeExpired?(): Promise<number>;
  /** Releases connections and timers; called when the Nest app shuts down. */
  close(): Promise<void>;
}
