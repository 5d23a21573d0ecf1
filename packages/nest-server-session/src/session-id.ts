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
