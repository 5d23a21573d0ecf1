/** What memcached accepts, checked before a call so that a refusal names its reason. */

/**
 * Largest encoded session written: memcached's default item limit (`-I 1m`) less 1 KiB for
 * what it stores alongside the value (a key of up to 250 bytes, a ~60-byte item header).
 */
export const MEMCACHED_MAX_VALUE_BYTES = 1024 * 1024 - 1024;
export const MEMCACHED_MAX_KEY_BYTES = 250;
/** Memcached reads an expiry above 30 days as a unix timestamp rather than seconds from now. */
export const MEMCACHED_MAX_RELATIVE_EXPIRY = 2_592_000;

/**
 * The expiry to send for a TTL in seconds: as is up to 30 days, else as a unix timestamp. A
 * TTL of zero or less becomes a time already past, which expires the item: sent as is, 0 would
 * mean "never expires", and the binary protocol has no negative expiry.
 */
export function memcachedExpiry(ttlSeconds: number, now = Date.now()): number {
  const nowSeconds = Math.floor(now / 1000);
  if (ttlSeconds <= 0) return nowSeconds - 1;
  return ttlSeconds > MEMCACHED_MAX_RELATIVE_EXPIRY
    ? nowSeconds + ttlSeconds
    : ttlSeconds;
}

/** What a memcached key cannot hold: it ends a key in the text protocol, which other clients use. */
export const MEMCACHED_KEY_FORBIDDEN = /[\s\p{Cc}]/u;

/** Throws unless memcached takes `key`: 1 to 250 bytes, no whitespace or control characters. */
export function checkMemcachedKey(key: string): void {
  const bytes = Buffer.byteLength(key);
  if (bytes > MEMCACHED_MAX_KEY_BYTES)
    throw new Error(
      `Memcached key too long: ${bytes} bytes, limit ${MEMCACHED_MAX_KEY_BYTES}`,
    );
  if (bytes === 0 || MEMCACHED_KEY_FORBIDDEN.test(key))
    throw new Error(
      `Memcached key ${JSON.stringify(key)} is empty or holds whitespace or control characters`,
    );
}
