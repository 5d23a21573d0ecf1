import { randomFillSync } from 'node:crypto';

/** Bytes of randomness per session id: 192 bits, as express-session's own uid-safe ids. */
const ID_BYTES = 24;
/** Characters in every id made here (base64url, no padding); stores size their keys by it. */
export const SESSION_ID_LENGTH = Math.ceil((ID_BYTES * 4) / 3);
/** Ids drawn from one refill of the pool. */
const IDS_PER_REFILL = 256;

/**
 * Session ids from the system CSPRNG, drawn from a buffer refilled every 256 ids. express-session
 * makes an id for every request without a session (it is discarded unless something is stored),
 * and one `randomBytes` call per id is a visible share of an anonymous page's CPU. Pooling is
 * what Node does for `crypto.randomUUID()`; the bytes are the same quality, each used once.
 */
export function createSessionIdGenerator(): () => string {
  const pool = Buffer.alloc(ID_BYTES * IDS_PER_REFILL);
  let offset = pool.length;
  return () => {
    if (offset === pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const id = pool.toString('base64url', offset, offset + ID_BYTES);
    offset += ID_BYTES;
    return id;
  };
}

/** A session id as made here (and by express-session's own uid-safe generator). */
export const SESSION_ID_PATTERN = new RegExp(
  `^[A-Za-z0-9_-]{${SESSION_ID_LENGTH}}$`,
);

/**
 * The session id a stored key stands for under `prefix`, or undefined when the key is not
 * exactly `prefix` + an id: listings use it so that `app` never claims `app2…`'s keys, nor the
 * index keys a store keeps beside its sessions.
 */
export function sessionIdOfKey(
  key: string,
  prefix: string,
): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const id = key.slice(prefix.length);
  return SESSION_ID_PATTERN.test(id) ? id : undefined;
}
