import { createHmac } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import {
  RESOLVED_SESSION_OPTIONS,
  SESSION_STORE,
} from './session.constants.js';
import type { ResolvedSessionOptions } from './options/session.options.js';
import type { SessionStoreHandle } from './stores/common/store-handle.js';
import type { IndexedSession } from './stores/store.contract.js';

/** One of a user's sessions, as a "where you're logged in" page shows it. */
export interface UserSessionInfo {
  /** Stable opaque name of the session for forms and links; never its id. */
  handle: string;
  /** When the user logged in on it. */
  createdAt: Date;
  /** Last activity, to within `touchAfter`; null where the store cannot tell. */
  lastSeen: Date | null;
  userAgent?: string;
  /** Only with IP tracking on (`trackIp`, SESSION_TRACK_IP). */
  ip?: string;
  /** The session of the request that asked. */
  current: boolean;
}

/**
 * A user's sessions across devices: list them, end one, or end all but the current one (after
 * a password change, say). Reads the per-user index the module keeps on every store, so each
 * call costs O(that user's sessions), never a scan of all sessions. Ended sessions are gone
 * from the store at once, for every app instance, and no request still running on one can
 * bring it back.
 */
@Injectable()
export class UserSessions {
  private readonly handleKey: Buffer;

  constructor(
    @Inject(SESSION_STORE) private readonly handle: SessionStoreHandle,
    @Inject(RESOLVED_SESSION_OPTIONS)
    private readonly options: ResolvedSessionOptions,
  ) {
    // A key of its own, so handles never share a key with the cookie signatures.
    this.handleKey = createHmac('sha256', options.secret[0])
      .update('session-handle')
      .digest();
  }

  /** `userId`'s live sessions, the current one (of `current`) first, then by last activity. */
  async list(
    userId: string,
    current?: Request | string,
  ): Promise<UserSessionInfo[]> {
    const currentSid = sessionIdOf(current);
    const sessions = await this.handle.store.sessionsOf(userId);
    return sessions
      .map((entry) => this.infoOf(entry, currentSid))
      .toSorted(
        (a, b) =>
          Number(b.current) - Number(a.current) ||
          (b.lastSeen ?? b.createdAt).getTime() -
            (a.lastSeen ?? a.createdAt).getTime(),
      );
  }

  /** Ends `userId`'s session named `handle`; false when the user has no such session. */
  async revoke(userId: string, handle: string): Promise<boolean> {
    const sessions = await this.handle.store.sessionsOf(userId);
    const target = sessions.find(
      (entry) => this.handleOf(entry.sid) === handle,
    );
    if (!target) return false;
    await this.handle.store.end(userId, target.sid);
    return true;
  }

  /** Ends every session of `userId` but `except` (a request or session id); how many ended. */
  async revokeAll(
    userId: string,
    { except }: { except?: Request | string } = {},
  ): Promise<number> {
    const keep = sessionIdOf(except);
    const sessions = await this.handle.store.sessionsOf(userId);
    const ending = sessions.filter((entry) => entry.sid !== keep);
    for (const entry of ending) await this.handle.store.end(userId, entry.sid);
    return ending.length;
  }

  private infoOf(
    entry: IndexedSession,
    currentSid: string | undefined,
  ): UserSessionInfo {
    const createdAt = new Date(entry.device.createdAt);
    // The store expiry is one lifetime after the last refresh.
    const refreshed =
      entry.expiresAt === null
        ? null
        : entry.expiresAt - this.options.lifetime * 1000;
    return {
      handle: this.handleOf(entry.sid),
      createdAt,
      lastSeen:
        refreshed === null
          ? null
          : new Date(Math.max(refreshed, createdAt.getTime())),
      ...(entry.device.userAgent ? { userAgent: entry.device.userAgent } : {}),
      ...(entry.device.ip ? { ip: entry.device.ip } : {}),
      current: entry.sid === currentSid,
    };
  }

  private handleOf(sid: string): string {
    return createHmac('sha256', this.handleKey)
      .update(sid)
      .digest('base64url')
      .slice(0, 22);
  }
}

function sessionIdOf(
  current: Request | string | undefined,
): string | undefined {
  return typeof current === 'string' ? current : current?.sessionID;
}
