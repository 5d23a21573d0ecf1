import { HttpException, Logger } from '@nestjs/common';
import type { Request } from 'express';
import { Store, type Session, type SessionData } from 'express-session';
import { StoreUnavailableError } from '../../store-unavailable.error.js';
import type {
  IndexedSession,
  LoadedSession,
  SessionBackend,
  SessionListing,
  SessionVersion,
} from '../store.contract.js';
import { Deadlines } from './deadline.js';
import {
  applyChanges,
  changesBetween,
  contentOf,
  copyOf,
  dataOfContent,
  type SessionChanges,
} from './session-changes.js';
import { CREATED_AT_KEY, OWNER, SessionOwners } from './session-owners.js';
import { sessionTtlSeconds } from './session-ttl.js';
import type { Callback } from './store-callback.js';
import { TouchThrottle } from './touch-throttle.js';

/** Calls over many sessions, which get the longer bulk deadline (admin tools, not pages). */
const BULK_OPERATIONS = new Set(['all', 'ids', 'length', 'clear', 'list']);

/**
 * How long one write may keep losing compare-and-set rounds to concurrent writers before it is
 * reported as a failure, in store deadlines: long enough that a storm of writers on one
 * session all get through, each waiting its turn with a growing random pause.
 */
const CONFLICT_BUDGET_DEADLINES = 10;
/** Longest random pause between two rounds, in ms. */
const MAX_BACKOFF_MS = 64;

/** What this request knows of a stored session: which version it holds, and its content. */
interface Snapshot {
  sid: string;
  version: SessionVersion;
  /** As last read or written here, minus the cookie's expiry ({@link contentOf}). */
  content: string;
}

/** A session read by `get`, until express-session makes it the request's Session. */
interface Loading {
  sid: string;
  version: SessionVersion;
}

/** What became of a session object in this request, for the answer to act on. */
export type SessionFate =
  /** Destroyed or regenerated away by another request: nothing written, no cookie for it. */
  | 'gone'
  /** A write failed: the answer is an error, and the session is not written again. */
  | 'failed';

export interface ConsistentStoreOptions {
  /** Deadline of one store call, in milliseconds. */
  timeoutMs: number;
  /**
   * Deadline of a call over many sessions (count, clear, a page of a listing, a user's
   * sessions), in milliseconds. @default 30 × timeoutMs, at least 30 s
   */
  bulkTimeoutMs?: number;
  /** The configured lifetime in seconds: no store entry outlives it. */
  lifetime: number;
  /** Skips expiry refreshes that are not due yet; by default every one goes through. */
  throttle?: TouchThrottle;
  /** Keeps the per-user index and the absolute lifetime; by default: `username`, no limit. */
  owners?: SessionOwners;
}

/** A session as handlers see it: express-session's Session with the app's data. */
export type RequestSession = Session & Partial<SessionData>;

/**
 * express-session's store interface over a {@link SessionBackend}, safe for concurrent
 * requests on one session. express-session saves a changed session by overwriting the stored
 * one with the request's whole copy; here a save of a loaded session writes only the top-level
 * keys this request changed, onto the version stored now, by the backend's atomic
 * compare-and-set (re-applied on conflict). A session another request destroyed meanwhile is
 * never written again: the change is dropped (debug log) and the session marked
 * {@link SessionFate gone}, so that the answer sends no cookie for it.
 *
 * Every backend call has a deadline; a failure surfaces as a {@link StoreUnavailableError}
 * (503) whose message names the operation only, never an id or session data.
 */
export class ConsistentStore extends Store {
  /** Assigned by express-session to every store it is given: a new session on `req`. */
  declare generate: (req: Request) => void;
  private readonly logger = new Logger('SessionStore');
  private readonly throttle: TouchThrottle;
  readonly owners: SessionOwners;
  /** Loaded data between `get` and express-session's `createSession`, by object. */
  private readonly loading = new WeakMap<object, Loading>();
  private readonly snapshots = new WeakMap<object, Snapshot>();
  private readonly fates = new WeakMap<object, SessionFate>();
  /** Sessions whose store expiry this request moved (written or touched): cookie due too. */
  private readonly refreshed = new WeakSet<object>();
  /** Sessions made by a regenerate whose predecessor was already gone: never stored. */
  private readonly orphans = new WeakSet<object>();

  private readonly deadlines: Deadlines;
  private readonly bulkDeadlines: Deadlines;
  private readonly bulkTimeoutMs: number;
  private readonly timeoutErrors = new Map<string, () => Error>();

  constructor(
    readonly backend: SessionBackend,
    private readonly options: ConsistentStoreOptions,
  ) {
    super();
    this.bulkTimeoutMs =
      options.bulkTimeoutMs ?? Math.max(options.timeoutMs * 30, 30_000);
    this.deadlines = new Deadlines(options.timeoutMs);
    this.bulkDeadlines = new Deadlines(this.bulkTimeoutMs);
    this.throttle = options.throttle ?? new TouchThrottle(0);
    this.owners =
      options.owners ??
      new SessionOwners(backend.users, {
        userIdKey: 'username',
        trackIp: false,
        absoluteLifetime: 0,
      });
  }

  get(sid: string, cb: Callback<SessionData | null>): void {
    this.settle(cb, () =>
      this.call('get', () => this.backend.load(sid)).then((loaded) =>
        loaded ? this.arrived(sid, loaded) : null,
      ),
    );
  }

  /** A session `get` read: kept track of for the request, or ended if it is too old. */
  private arrived(
    sid: string,
    loaded: LoadedSession,
  ): SessionData | Promise<null> {
    if (this.owners.isExpired(loaded.session))
      return this.endExpired(sid, loaded.session);
    this.owners.known(sid, loaded.session);
    this.throttle.loaded(sid, loaded.session);
    // The snapshot is taken in createSession, once: a read alone costs no serialisation.
    this.loading.set(loaded.session, { sid, version: loaded.version });
    return loaded.session;
  }

  /** Past its absolute lifetime: gone, however active it was. */
  private async endExpired(sid: string, session: SessionData): Promise<null> {
    await this.destroyWithEntry(sid, session, true);
    return null;
  }

  /** express-session turns what `get` gave into the request's Session here. */
  createSession(req: Request, data: SessionData): Session & SessionData {
    const snapshot = this.loading.get(data);
    const session = super.createSession(req, data);
    // Taken again through express-session's Cookie, whose JSON has every attribute.
    if (snapshot)
      this.snapshots.set(session, { ...snapshot, content: contentOf(session) });
    return session;
  }

  set(sid: string, session: SessionData, cb?: Callback): void {
    this.settle(cb, () => this.save(sid, session));
  }

  touch(sid: string, session: SessionData, cb?: Callback): void {
    // express-session touches at the end of the request even when the answer's commit
    // already wrote or refreshed the session: that would be a second EXPIRE for nothing.
    if (
      this.fates.has(session) ||
      this.refreshed.has(session) ||
      !this.throttle.isDue(sid)
    )
      return void cb?.();
    this.settle(cb, async () => {
      const ttl = this.ttlOf(session);
      if (ttl <= 0) {
        // Its cookie has expired: a refresh would make it live forever on some stores.
        await this.destroyWithEntry(sid, session, true);
        return this.markGone(session, 'refresh');
      }
      if (!(await this.call('touch', () => this.backend.touch(sid, ttl))))
        return this.markGone(session, 'refresh');
      this.throttle.refreshed(sid);
      this.refreshed.add(session);
    });
  }

  destroy(sid: string, cb?: Callback): void {
    this.settle(cb, async () => {
      this.throttle.forget(sid);
      await this.destroyWithEntry(sid, undefined, false);
    });
  }

  /**
   * express-session's regenerate, which passport's login and logout call: ends the stored
   * session, then makes a new one. Unlike express-session's, a failed destroy leaves the
   * request's session as it was (no new id, so no cookie and no write for a session never
   * saved); and when the stored session was already gone (another request logged in or out
   * meanwhile), its successor is never stored, so concurrent logins leave one live session.
   */
  regenerate(req: Request, fn: (err?: unknown) => void): void {
    const previous = req.session as RequestSession | undefined;
    if (!previous || !this.snapshots.has(previous)) {
      this.generate(req);
      return fn();
    }
    this.throttle.forget(req.sessionID);
    const previousId = req.sessionID;
    this.destroyWithEntry(previousId, previous as SessionData, false).then(
      (existed) => {
        this.generate(req);
        if (!existed) this.orphans.add(req.session);
        fn();
      },
      (err: unknown) => {
        this.fates.set(previous, 'failed');
        fn(err);
      },
    );
  }

  all(cb: Callback<{ [sid: string]: SessionData }>): void {
    this.settle(cb, async () => {
      const listing = this.listing('all');
      const all: { [sid: string]: SessionData } = {};
      for await (const page of this.pages('all', listing)) {
        const sessions = await this.call('all', () => listing.loadMany(page));
        for (const [sid, session] of sessions) all[sid] = session;
      }
      return all;
    });
  }

  length(cb: Callback<number>): void {
    this.settle(cb, () => {
      const listing = this.listing('length');
      return this.call('length', () => listing.count());
    });
  }

  clear(cb?: Callback): void {
    this.settle(cb, async () => {
      const listing = this.listing('clear');
      await this.call('clear', () => listing.clear());
    });
  }

  /** Ids of the stored sessions of this prefix. */
  ids(cb: Callback<string[]>): void {
    this.settle(cb, async () => {
      const ids: string[] = [];
      for await (const page of this.pages('ids', this.listing('ids')))
        ids.push(...page);
      return ids;
    });
  }

  /** `userId`'s live sessions from the per-user index (empty without one). */
  async sessionsOf(userId: string): Promise<IndexedSession[]> {
    const index = this.owners.index;
    if (!index) throw new Error('This session store keeps no per-user index');
    const listed = await this.call('list', () => index.list(userId));
    const live: IndexedSession[] = [];
    for (const entry of listed) {
      if (this.owners.isExpired(entryAsSession(entry)))
        await this.end(userId, entry.sid);
      else live.push(entry);
    }
    return live;
  }

  /**
   * Ends `userId`'s session `sid` (a revoke): gone from the store at once, for every app
   * instance, and from the user's index. A request still running on it can no longer write it.
   */
  async end(userId: string, sid: string): Promise<void> {
    this.throttle.forget(sid);
    await this.destroyWithEntry(sid, { [OWNER]: userId } as never, true);
  }

  /** What became of `session` in this request, when something went wrong for it. */
  fateOf(session: object): SessionFate | undefined {
    return this.fates.get(session);
  }

  /** Whether `session` is stored: loaded from the store, or written by this request. */
  isStored(session: object): boolean {
    return this.snapshots.has(session);
  }

  /** Whether this request moved the store expiry of `session`, so its cookie is due too. */
  wasRefreshed(session: object): boolean {
    return this.refreshed.has(session);
  }

  /**
   * Whether `session` holds what is not stored: a loaded session that differs from what was
   * read (or last written), or a new one with data of its own.
   */
  hasUnsavedChanges(session: RequestSession): boolean {
    if (this.fates.has(session) || this.orphans.has(session)) return false;
    const snapshot = this.snapshots.get(session);
    if (snapshot?.sid === session.id)
      return contentOf(session) !== snapshot.content;
    return Object.keys(session).some((key) => key !== 'cookie');
  }

  /**
   * Read-modify-write: `change` runs on a copy of the version stored now, and its result is
   * stored only if nothing else was written meanwhile; otherwise it runs again on the newer
   * version. Resolves with the stored data (also copied into `session`), or null when the
   * session is gone. A session not stored yet (nobody else knows its id) is changed in place
   * and created.
   */
  async update(
    session: RequestSession,
    change: (data: SessionData) => void | Promise<void>,
  ): Promise<SessionData | null> {
    const sid = session.id;
    const snapshot = this.snapshots.get(session);
    if (snapshot?.sid !== sid) {
      await change(session as SessionData);
      await this.save(sid, session as SessionData);
      return this.fates.has(session) ? null : (session as SessionData);
    }
    const loaded = dataOfContent(snapshot.content);
    const pending = changesBetween(loaded, session as SessionData);
    let result: { before: SessionData; after: SessionData } | undefined;
    const stored = await this.writeOnto(
      sid,
      session,
      { session: loaded, version: snapshot.version },
      async (current) => {
        const draft = copyOf(current);
        await change(draft);
        result = { before: current, after: draft };
        return { ...draft, cookie: session.cookie } as SessionData;
      },
    );
    if (!stored || !result) return null;
    adopt(
      session,
      result.after,
      pending,
      changesBetween(result.before, result.after),
    );
    return result.after;
  }

  /**
   * Moves the visitor to a new session id holding `data` (a login: the id changes, so a
   * planted or stolen id is worth nothing after it). The new session is stored before the old
   * one is destroyed, so a store failure leaves the visitor exactly as they were. When the old
   * session was already ended by another request (a concurrent login or logout), the new one
   * is removed again, the answer sends no cookie, and this resolves false: of concurrent
   * logins from one session, exactly one succeeds.
   */
  async renew(req: Request, data: Partial<SessionData>): Promise<boolean> {
    const previous = { id: req.sessionID, session: req.session };
    const wasStored = this.snapshots.get(previous.session)?.sid === previous.id;
    const restore = () => {
      req.sessionID = previous.id;
      req.session = previous.session;
    };
    this.generate(req);
    Object.assign(req.session, data);
    try {
      await this.save(req.sessionID, req.session as SessionData);
    } catch (err) {
      // The old session stays, so express-session neither sends a cookie for the unsaved
      // session nor tries to save it again; marked failed, the answer (a 503) refreshes
      // nothing either: the store just failed once.
      restore();
      this.fates.set(previous.session, 'failed');
      throw err;
    }
    if (!wasStored) return true;
    this.throttle.forget(previous.id);
    let existed: boolean;
    try {
      existed = await this.destroyWithEntry(
        previous.id,
        previous.session as SessionData,
        false,
      );
    } catch (err) {
      const unsaved = { id: req.sessionID, session: req.session };
      await this.backend
        .destroy(unsaved.id)
        .then(() => this.forget(unsaved.id, unsaved.session as SessionData))
        .catch(() => undefined);
      restore();
      this.fates.set(previous.session, 'failed');
      throw err;
    }
    if (existed) return true;
    await this.destroyWithEntry(
      req.sessionID,
      req.session as SessionData,
      true,
    );
    this.markGone(req.session, 'login');
    return false;
  }

  /**
   * Destroys `sid` and takes it out of its user's index (the user `session` names, else the
   * one this process remembers): in one write where the store has one for both; otherwise
   * the entry after the session, waited for only when `waitForIndex` (an answer need not wait
   * for the index of a session that is gone). Resolves with whether a live session went.
   */
  private async destroyWithEntry(
    sid: string,
    session: SessionData | undefined,
    waitForIndex: boolean,
  ): Promise<boolean> {
    const destroyOwned = this.backend.destroyOwned?.bind(this.backend);
    const owner = destroyOwned && this.owners.ownerOf(sid, session);
    if (destroyOwned && owner !== undefined) {
      const existed = await this.call('destroy', () =>
        destroyOwned(sid, owner),
      );
      this.owners.destroyed(sid);
      return existed;
    }
    const existed = await this.call('destroy', () => this.backend.destroy(sid));
    const forgotten = this.forget(sid, session);
    if (waitForIndex) await forgotten;
    return existed;
  }

  /** After a destroy: the session's user no longer lists it (a failure only delays that). */
  private async forget(sid: string, session?: SessionData): Promise<void> {
    await this.owners
      .afterDestroy(sid, session)
      .catch((err: unknown) =>
        this.logger.warn(
          `Could not remove an ended session from its user's index: ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
  }

  /**
   * Seconds the store keeps `session`: its cookie's, capped by the lifetime. (Not by the
   * absolute lifetime, which is enforced when the session is read: so a session's store
   * expiry always tells when it was last refreshed, which the user's list shows.)
   */
  private ttlOf(session: SessionData): number {
    return sessionTtlSeconds(session, this.options.lifetime);
  }

  private async save(sid: string, session: SessionData): Promise<void> {
    if (this.fates.get(session) === 'gone' || this.orphans.has(session))
      return this.dropped('write');
    const snapshot = this.snapshots.get(session);
    const stored = snapshot?.sid === sid ? snapshot : undefined;
    const content = stored && contentOf(session);
    // express-session saves again at the end of a request whose id changed, even when the
    // handler already saved (a login must, to answer 503 if the store is down).
    if (stored && content === stored.content && this.refreshed.has(session))
      return;
    try {
      if (stored) {
        const loaded = dataOfContent(stored.content);
        let changes: SessionChanges | undefined;
        await this.writeOnto(
          sid,
          session,
          { session: loaded, version: stored.version },
          // Onto the version this request read, its changes give the session as it is now;
          // only onto a newer version (a conflict) are they worked out and applied.
          (current) =>
            current === loaded
              ? session
              : applyChanges(
                  current,
                  (changes ??= changesBetween(loaded, session)),
                  session.cookie,
                ),
          content,
        );
      } else {
        await this.create(sid, session);
      }
    } catch (err) {
      this.fates.set(session, 'failed');
      throw err;
    }
  }

  private async create(sid: string, session: SessionData): Promise<void> {
    this.owners.stamp(session);
    const ttl = this.ttlOf(session);
    if (ttl <= 0)
      return void (await this.call('destroy', () => this.backend.destroy(sid)));
    const owner = this.owners.newOwner(undefined, session, requestOf(session));
    if (!owner) {
      const version = await this.call('set', () =>
        this.backend.create(sid, session, ttl),
      );
      return this.created(sid, session, version);
    }
    const createOwned = this.backend.createOwned?.bind(this.backend);
    if (createOwned) {
      // A login where the store writes the session and its index entry together: one command.
      const version = await this.call('set', () =>
        createOwned(sid, session, ttl, owner),
      );
      return this.created(sid, session, version);
    }
    // The user's index entry and the session are written side by side (one round trip, one
    // network write where the client pipelines); if the entry fails, the session is taken
    // back, so no live session is ever left out of its user's list.
    const [indexed, created] = await Promise.allSettled([
      this.call('set', () => this.owners.record(sid, owner, ttl)),
      this.call('set', () => this.backend.create(sid, session, ttl)),
    ]);
    if (indexed.status === 'rejected') {
      if (created.status === 'fulfilled')
        await this.backend.destroy(sid).catch(() => undefined);
      throw indexed.reason;
    }
    if (created.status === 'rejected') throw created.reason;
    this.created(sid, session, created.value);
  }

  private created(
    sid: string,
    session: SessionData,
    version: SessionVersion,
  ): void {
    // As for a session read: a later destroy by id (not through a request that loaded it)
    // then takes it out of its user's index too.
    this.owners.known(sid, session);
    this.wrote(sid, session, version, contentOf(session));
  }

  /**
   * Stores `build(stored)` over the version stored now, by compare-and-set from `base`,
   * rebuilding on the newer version after each conflict. Resolves with what was stored, or
   * null when the session is gone (then marked so). `content` is {@link contentOf} of what
   * the first round writes, when the caller has it: the snapshot then costs no second
   * serialisation.
   */
  private async writeOnto(
    sid: string,
    session: object,
    base: LoadedSession,
    build: (stored: SessionData) => SessionData | Promise<SessionData>,
    content?: string,
  ): Promise<SessionData | null> {
    const giveUpAt =
      Date.now() + CONFLICT_BUDGET_DEADLINES * this.options.timeoutMs;
    for (let attempt = 1; ; attempt++) {
      const next = await build(base.session);
      const ttl = this.ttlOf(next);
      if (ttl <= 0) {
        await this.destroyWithEntry(sid, base.session, true);
        return (this.markGone(session, 'write of an expired session'), null);
      }
      const previous = base.session;
      await this.call('set', () =>
        this.owners.beforeWrite(sid, previous, next, ttl, requestOf(session)),
      );
      const outcome = await this.call('set', () =>
        this.backend.replace(sid, base.version, next, ttl),
      );
      if (outcome.status === 'replaced') {
        this.wrote(
          sid,
          session,
          outcome.version,
          (attempt === 1 && content) || contentOf(next),
        );
        await this.owners
          .afterWrite(sid, previous, next)
          .catch(() => undefined);
        return next;
      }
      if (outcome.status === 'gone')
        return (this.markGone(session, 'write'), null);
      if (Date.now() >= giveUpAt)
        throw new StoreUnavailableError(
          'set',
          `gave up after ${attempt} conflicting concurrent writes`,
        );
      // Writers that keep colliding are in lockstep: a random pause, growing with each lost
      // round, spreads them out (exponential back-off with full jitter).
      let latest: LoadedSession | null | undefined = outcome.current;
      if (attempt > 1) {
        await pause(
          Math.random() * Math.min(2 ** (attempt - 2), MAX_BACKOFF_MS),
        );
        latest = undefined;
      }
      latest ??= await this.call('get', () => this.backend.load(sid));
      if (!latest) return (this.markGone(session, 'write'), null);
      base = latest;
    }
  }

  private wrote(
    sid: string,
    session: object,
    version: SessionVersion,
    content: string,
  ): void {
    this.throttle.refreshed(sid);
    this.refreshed.add(session);
    this.snapshots.set(session, { sid, version, content });
  }

  private markGone(session: object, what: string): void {
    this.fates.set(session, 'gone');
    this.dropped(what);
  }

  private dropped(what: string): void {
    this.logger.debug(
      `Session ended by another request; its ${what} was dropped`,
    );
  }

  /** The listing's pages, each fetched within the deadline. */
  private async *pages(
    operation: string,
    listing: SessionListing,
  ): AsyncIterable<string[]> {
    const iterator = listing.ids()[Symbol.asyncIterator]();
    for (;;) {
      const next = await this.call(operation, () => iterator.next());
      if (next.done) return;
      yield next.value;
    }
  }

  private listing(operation: string): SessionListing {
    const listing = this.backend.listing;
    if (!listing)
      throw new Error(`This session store does not support ${operation}()`);
    return listing;
  }

  /** `work` within the deadline; a failure becomes a 503 naming the operation only. */
  private call<T>(operation: string, work: () => Promise<T>): Promise<T> {
    // Chained, not awaited: this wraps every store call, and each await and wrapping promise
    // shows in a profile at tens of thousands of calls a second.
    if (this.backend.inProcess)
      return started(work).catch((err: unknown) =>
        this.failure(operation, err),
      );
    return this.deadlinesFor(operation)
      .within(started(work), this.timeoutErrorOf(operation))
      .catch((err: unknown) => this.failure(operation, err));
  }

  private deadlinesFor(operation: string): Deadlines {
    return BULK_OPERATIONS.has(operation) ? this.bulkDeadlines : this.deadlines;
  }

  /** One error factory per operation, made once rather than a closure per call. */
  private timeoutErrorOf(operation: string): () => Error {
    let make = this.timeoutErrors.get(operation);
    if (!make) {
      const ms = BULK_OPERATIONS.has(operation)
        ? this.bulkTimeoutMs
        : this.options.timeoutMs;
      make = () =>
        new StoreUnavailableError(operation, `timed out after ${ms} ms`);
      this.timeoutErrors.set(operation, make);
    }
    return make;
  }

  private failure(operation: string, err: unknown): never {
    if (err instanceof StoreUnavailableError) {
      this.logger.warn(err.message);
      throw err;
    }
    // An HTTP error of the store's own (a session too large for it, say) says it better.
    if (err instanceof HttpException) throw err;
    // The log keeps the cause; the answer names the operation only.
    const reason = err instanceof Error ? err.message : String(err);
    this.logger.warn(`${operation} failed: ${reason}`);
    throw new StoreUnavailableError(operation, 'failed', err);
  }

  private settle<T>(cb: Callback<T> | undefined, work: () => Promise<T>): void {
    started(work).then(
      (value) => cb?.(null, value),
      (err: unknown) => cb?.(err),
    );
  }
}

/**
 * `work()`, a synchronous throw (a store that throws instead of rejecting) turned into a
 * rejection. Cheaper than `new Promise((resolve) => resolve(work()))`, whose resolving with
 * a promise costs two more turns of the microtask queue.
 */
function started<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/**
 * Copies the stored result of an update into the request's session: keys the update changed
 * take its value; the handler's own unsaved changes to other keys stay, to be saved with the
 * answer; everything else follows what is stored now.
 */
function adopt(
  session: RequestSession,
  stored: SessionData,
  pending: SessionChanges,
  theirs: SessionChanges,
): void {
  const target = session as unknown as Record<string, unknown>;
  const source = stored as unknown as Record<string, unknown>;
  const updated = (key: string) => theirs.set.has(key) || theirs.unset.has(key);
  const mine = (key: string) => pending.set.has(key) || pending.unset.has(key);
  for (const key of Object.keys(target))
    if (key !== 'cookie' && !(key in source) && (updated(key) || !mine(key)))
      delete target[key];
  for (const [key, value] of Object.entries(source))
    if (key !== 'cookie' && (updated(key) || !mine(key))) target[key] = value;
}

/** An index entry as the absolute-lifetime check reads a session: its creation time. */
const entryAsSession = (entry: IndexedSession) =>
  ({ [CREATED_AT_KEY]: entry.device.createdAt }) as unknown as SessionData;

/** The request a Session object belongs to (express-session keeps it, not enumerable). */
const requestOf = (session: object): Request | undefined =>
  (session as { req?: Request }).req;

const pause = (ms: number) =>
  new Promise<void>((resolve) => setTimeout(resolve, ms));
