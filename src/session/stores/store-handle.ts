import type { Store } from 'express-session';
import type { SessionType } from '../session.options.js';

/** What each store file builds: the express-session store plus its lifecycle. */
export interface SessionStoreHandle {
  type: SessionType;
  store: Store;
  /** Resolves when the store answers a trivial request; used by health checks. */
  ping(): Promise<void>;
  /** Releases connections and timers; called when the Nest app shuts down. */
  close(): Promise<void>;
}
