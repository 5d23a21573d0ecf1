import type { SessionData, Store } from 'express-session';
import type { SessionType } from '../../options/session.options.js';
import type {
  LoadedSession,
  ReplaceOutcome,
  SessionBackend,
  SessionVersion,
} from '../store.contract.js';

/**
 * TEMPORARY, until every store implements {@link SessionBackend} itself: the contract over an
 * express-session store, with versions compared by content. Not atomic (a read, then a write).
 */
export interface LegacyHandle {
  type: SessionType;
  store: Store;
  ping(): Promise<void>;
  close(): Promise<void>;
  removeExpired?(): Promise<number>;
}

function call<T>(
  start: (cb: (err?: unknown, value?: T) => void) => void,
): Promise<T | undefined> {
  return new Promise((resolve, reject) =>
    start((err, value) => (err ? reject(err) : resolve(value))),
  );
}

export function legacyBackend(handle: LegacyHandle): SessionBackend {
  const { store } = handle;
  const get = (sid: string) =>
    call<SessionData | null>((cb) => store.get(sid, cb)).then((s) => s ?? null);
  const versionOf = (session: SessionData) => JSON.stringify(session);
  const loaded = (session: SessionData | null): LoadedSession | null =>
    session ? { session, version: versionOf(session) } : null;
  const written = async (sid: string): Promise<SessionVersion> =>
    versionOf((await get(sid)) ?? ({} as SessionData));
  return {
    type: handle.type,
    load: async (sid) => loaded(await get(sid)),
    create: async (sid, session) => {
      await call((cb) => store.set(sid, session, cb));
      return written(sid);
    },
    replace: async (sid, version, session): Promise<ReplaceOutcome> => {
      const current = await get(sid);
      if (!current) return { status: 'gone' };
      if (versionOf(current) !== version)
        return { status: 'conflict', current: loaded(current)! };
      await call((cb) => store.set(sid, session, cb));
      return { status: 'replaced', version: await written(sid) };
    },
    touch: async (sid, _ttl) => {
      const current = await get(sid);
      if (!current) return false;
      const session = {
        ...current,
        cookie: {
          ...current.cookie,
          expires: new Date(Date.now() + _ttl * 1000),
        },
      } as SessionData;
      await call((cb) => store.touch!(sid, session, cb));
      return true;
    },
    destroy: async (sid) => {
      const existed = (await get(sid)) !== null;
      await call((cb) => store.destroy(sid, cb));
      return existed;
    },
    ping: () => handle.ping(),
    close: () => handle.close(),
    listing: store.all
      ? {
          ids: async function* () {
            const all = await call<unknown>((cb) => store.all!(cb as never));
            yield Array.isArray(all)
              ? all.map((s: { id: string }) => s.id)
              : Object.keys(all ?? {});
          },
          loadMany: async (sids) => {
            const found = new Map<string, SessionData>();
            for (const sid of sids) {
              const session = await get(sid);
              if (session) found.set(sid, session);
            }
            return found;
          },
          count: async () =>
            (await call<number>((cb) => store.length!(cb))) ?? 0,
          clear: async () => {
            await call((cb) => store.clear!(cb));
            return 0;
          },
        }
      : undefined,
    removeExpired: handle.removeExpired
      ? () => handle.removeExpired!()
      : undefined,
  };
}
