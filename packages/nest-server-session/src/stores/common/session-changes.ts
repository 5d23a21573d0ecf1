import type { SessionData } from 'express-session';

/** What a request changed in a session's top-level keys, the cookie aside. */
export interface SessionChanges {
  /** Keys added or given another value, with the new value. */
  set: Map<string, unknown>;
  /** Keys deleted (or set to undefined, which no encoding keeps). */
  unset: Set<string>;
}

type Data = Record<string, unknown>;

/**
 * The top-level keys of `after` that differ from `before`, compared by their JSON (what a
 * store keeps). Nested objects count as one value: a change anywhere inside `cart` rewrites
 * `cart` whole, the unit that concurrent requests merge by.
 */
export function changesBetween(
  before: SessionData,
  after: SessionData,
): SessionChanges {
  const changes: SessionChanges = { set: new Map(), unset: new Set() };
  const was = before as unknown as Data;
  const now = after as unknown as Data;
  for (const key of Object.keys(now)) {
    if (key === 'cookie') continue;
    if (now[key] === undefined) {
      if (was[key] !== undefined) changes.unset.add(key);
    } else if (JSON.stringify(now[key]) !== JSON.stringify(was[key])) {
      changes.set.set(key, now[key]);
    }
  }
  for (const key of Object.keys(was))
    if (key !== 'cookie' && !(key in now) && was[key] !== undefined)
      changes.unset.add(key);
  return changes;
}

export function hasChanges(changes: SessionChanges): boolean {
  return changes.set.size > 0 || changes.unset.size > 0;
}

/** `stored` with `changes` applied and the request's cookie: what a save writes. */
export function applyChanges(
  stored: SessionData,
  changes: SessionChanges,
  cookie: SessionData['cookie'],
): SessionData {
  const next: Data = { ...(stored as unknown as Data), cookie };
  for (const key of changes.unset) delete next[key];
  for (const [key, value] of changes.set) next[key] = value;
  return next as unknown as SessionData;
}

/**
 * The session as stored, minus the cookie's expiry, which express-session moves on every
 * request (by the milliseconds the request took) without anything having changed: the cookie's
 * other attributes as JSON, a newline, then the data as JSON ({@link dataOfContent} reads it
 * back). Built without a JSON replacer, which would make every request's stringify slow.
 */
export function contentOf(session: SessionData): string {
  const { cookie, ...data } = session as unknown as Data & {
    cookie?: { toJSON?: () => Data } & Data;
  };
  const attributes =
    typeof cookie?.toJSON === 'function' ? cookie.toJSON() : cookie;
  const { expires: _expires, ...rest } = attributes ?? {};
  return `${JSON.stringify(rest)}\n${JSON.stringify(data)}`;
}

/** The session data (without its cookie) that {@link contentOf} wrote down. */
export function dataOfContent(content: string): SessionData {
  return JSON.parse(content.slice(content.indexOf('\n') + 1)) as SessionData;
}

/** A deep copy of session data as a store would give it back (JSON values). */
export function copyOf(session: SessionData): SessionData {
  return JSON.parse(JSON.stringify(session)) as SessionData;
}
