import { HttpException, Logger } from '@nestjs/common';
import { Store, type SessionData } from 'express-session';
import { StoreUnavailableError } from '../../store-unavailable.error.js';
import { withDeadline } from './deadline.js';
import { TouchThrottle } from './touch-throttle.js';
import type { Callback } from './store-callback.js';

/**
 * Wraps a store so that no call outlives `timeoutMs` and every failure surfaces as a
 * {@link StoreUnavailableError} (503), unless the store already said what went wrong with an
 * HTTP error of its own (a session too large for it, say). It also hides the inner store's connect/disconnect
 * events: express-session skips sessions entirely while its store is "disconnected", which
 * would turn an outage into anonymous requests that could overwrite stored sessions.
 */
export class GuardedStore extends Store {
  private readonly logger = new Logger('SessionStore');
  /**
   * The JSON last stored for each live session object. express-session saves again at the
   * end of a request whose session id changed, even when the handler already saved it (as a
   * login must, to answer 503 if the store is down); an identical second write is skipped.
   */
  private readonly stored = new WeakMap<object, string>();

  constructor(
    private readonly inner: Store,
    private readonly timeoutMs: number,
    /** Skips touches that are not due yet; by default every touch goes through. */
    private readonly throttle = new TouchThrottle(0),
  ) {
    super();
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.guard(
      'get',
      (done) => this.inner.get(sid, done),
      (err?: unknown, session?: SessionData | null) => {
        if (!err) this.throttle.loaded(sid, session);
        cb(err, session);
      },
    );
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    const json = contentOf(session);
    if (this.stored.get(session) === sid + json) return void cb?.();
    this.guard(
      'set',
      (done) => this.inner.set(sid, session, done),
      (err?: unknown) => {
        // After a failure the store may hold either version, so the next write must go through.
        if (err) {
          this.stored.delete(session);
        } else {
          this.stored.set(session, sid + json);
          this.throttle.refreshed(sid);
        }
        cb?.(err);
      },
    );
  }

  destroy(sid: string, cb?: Callback): void {
    this.throttle.forget(sid);
    this.guard('destroy', (done) => this.inner.destroy(sid, done), cb);
  }

  touch(sid: string, session: SessionData, cb?: Callback): void {
    const touch = this.inner.touch?.bind(this.inner);
    if (!touch || !this.throttle.isDue(sid)) return cb?.();
    this.guard(
      'touch',
      (done) => touch(sid, session, done),
      (err?: unknown) => {
        if (!err) this.throttle.refreshed(sid);
        cb?.(err);
      },
    );
  }

  all(
    cb: Callback<SessionData[] | { [sid: string]: SessionData } | null>,
  ): void {
    this.optional('all', cb);
  }

  length(cb: Callback<number>): void {
    this.optional('length', cb);
  }

  /** Ids of the stored sessions: the store's own `ids()` where it has one, else from `all()`. */
  ids(cb: Callback<string[]>): void {
    const inner = this.inner as Store & {
      ids?: (done: Callback<string[]>) => void;
    };
    if (inner.ids) return this.guard('ids', inner.ids.bind(inner), cb);
    this.all((err, sessions) =>
      err ? cb(err) : cb(null, idsOf(sessions ?? {})),
    );
  }

  clear(cb?: Callback): void {
    this.optional('clear', cb);
  }

  private optional(
    name: 'all' | 'length' | 'clear',
    cb?: Callback<never>,
  ): void {
    const method = this.inner[name]?.bind(this.inner) as
      ((done: Callback) => void) | undefined;
    if (!method) {
      cb?.(new Error(`This session store does not support ${name}()`));
      return;
    }
    this.guard(name, method, cb as Callback);
  }

  private guard<T>(
    operation: string,
    call: (done: Callback<T>) => void,
    cb?: Callback<T>,
  ): void {
    let settled = false;
    const finish: Callback<T> = (err, value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        const reason = err instanceof Error ? err.message : String(err);
        this.logger.warn(`${operation} failed: ${reason}`);
        cb?.(
          err instanceof HttpException
            ? err
            : new StoreUnavailableError(operation, `failed: ${reason}`, err),
        );
      } else {
        cb?.(null, value);
      }
    };
    const timer = setTimeout(
      () =>
        finish(
          new StoreUnavailableError(
            operation,
            `timed out after ${this.timeoutMs} ms`,
          ),
        ),
      this.timeoutMs,
    );
    try {
      call(finish);
    } catch (err) {
      finish(err);
    }
  }
}

/** connect-redis lists sessions as an array carrying `id`; the other stores as an id map. */
function idsOf(
  sessions: SessionData[] | { [sid: string]: SessionData },
): string[] {
  return Array.isArray(sessions)
    ? sessions.map((s) => (s as SessionData & { id: string }).id)
    : Object.keys(sessions);
}

/** Runs `ping` with the same deadline as a store call. */
export function pingWithin(
  ping: () => Promise<void>,
  timeoutMs: number,
): Promise<void> {
  return withDeadline(
    // A ping that throws instead of rejecting still answers through the promise.
    new Promise<void>((resolve) => resolve(ping())),
    timeoutMs,
    () => new StoreUnavailableError('ping', `timed out after ${timeoutMs} ms`),
  );
}

/**
 * The session as stored, minus the cookie's expiry: express-session touches the cookie (moving
 * `expires` by the milliseconds the request took) between a handler's save and its own.
 */
function contentOf(session: SessionData): string {
  return JSON.stringify(session, (key, value: unknown) =>
    key === 'cookie' && typeof value === 'object' && value !== null
      ? { ...value, expires: undefined }
      : value,
  );
}
