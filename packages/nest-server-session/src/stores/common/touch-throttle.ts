import type { SessionData } from 'express-session';
import { LRUCache } from 'lru-cache';

/** Sessions whose last refresh this process remembers; older entries are simply refreshed again. */
const MAX_TRACKED_SESSIONS = 100_000;

/**
 * Decides when an unchanged session's store expiry needs refreshing. express-session touches
 * the store on every request (connect-redis: an EXPIRE after each GET); refreshing only once
 * `touchAfter` has passed since the session was last written or refreshed halves the store
 * commands of a logged-in page view, at the price of the store entry expiring up to
 * `touchAfter` before the cookie. A touch never rewrites session data, so it cannot overwrite a
 * concurrent change.
 */
export class TouchThrottle {
  /**
   * When each session was last written or refreshed, as far as this process knows: entries
   * past `touchAfter` are useless and dropped when met, and the least recently used go first
   * once it holds {@link MAX_TRACKED_SESSIONS}. (Not a Map dropping its first key: see
   * SessionOwners, where that cost up to 100 µs a read.)
   */
  private readonly refreshedAt = new LRUCache<string, number>({
    max: MAX_TRACKED_SESSIONS,
  });

  constructor(private readonly touchAfterMs: number) {}

  /** A session was read: its stored cookie tells when it was last written, if it expires. */
  loaded(sid: string, session: Partial<SessionData> | null | undefined): void {
    // Runs on every read: without a throttle, no date to parse.
    if (this.touchAfterMs <= 0) return;
    const expires = session?.cookie?.expires;
    const maxAge = session?.cookie?.originalMaxAge;
    if (expires && typeof maxAge === 'number') {
      this.note(sid, new Date(expires).getTime() - maxAge);
    }
  }

  /** The session was written or its expiry refreshed just now. */
  refreshed(sid: string): void {
    this.note(sid, Date.now());
  }

  forget(sid: string): void {
    this.refreshedAt.delete(sid);
  }

  isDue(sid: string): boolean {
    const last = this.refreshedAt.get(sid);
    if (last === undefined) return true;
    if (Date.now() - last < this.touchAfterMs) return false;
    this.refreshedAt.delete(sid);
    return true;
  }

  private note(sid: string, at: number): void {
    if (this.touchAfterMs <= 0 || Date.now() - at >= this.touchAfterMs) return;
    const known = this.refreshedAt.get(sid);
    if (known === undefined || known < at) this.refreshedAt.set(sid, at);
  }
}
