import { Logger } from '@nestjs/common';
import type { SessionData } from 'express-session';
import { Packr } from 'msgpackr';
import type { SerializationFormat } from '../../options/common.options.js';

/** A stored session's raw form, as the stores hand it over. */
export type StoredSession = string | Uint8Array;

/**
 * Turns sessions into what a store keeps and back. Writes use the configured format; reads
 * recognise both, so switching SESSION_SERIALIZATION_FORMAT migrates sessions on their next
 * save instead of logging everybody out. Anything unreadable loads as "no session" (logged),
 * never as an error page: a corrupt entry must not lock its owner out behind 500s.
 */
export interface SessionCodec {
  readonly format: SerializationFormat;
  encode(session: SessionData): string | Buffer;
  /**
   * The session, or null when `raw` is not a session in either format. (`key` is accepted
   * for callers that pass it, and never logged.)
   */
  decode(raw: StoredSession, key?: string): SessionData | null;
}

// Plain msgpack maps (no msgpackr records), so any msgpack library can read what we write.
const packr = new Packr({ useRecords: false, mapsAsObjects: true });
const logger = new Logger('SessionCodec');

/** `{` opens every JSON session; msgpack maps open with 0x80-0x8f, 0xde or 0xdf. */
const JSON_OPEN = 0x7b;
const isMsgpackMap = (byte: number) =>
  (byte >= 0x80 && byte <= 0x8f) || byte === 0xde || byte === 0xdf;

export function createSessionCodec(
  format: SerializationFormat = 'json',
): SessionCodec {
  return {
    format,
    encode: (session) =>
      format === 'json'
        ? JSON.stringify(session)
        : packr.pack(withPlainCookie(session)),
    decode: (raw) => {
      const session = parse(raw);
      if (isSession(session)) return session;
      // Without the key: it holds the session id, which stays out of logs.
      logger.warn(
        'A stored session is neither JSON nor msgpack; treated as absent',
      );
      return null;
    },
  };
}

/**
 * express-session's Cookie keeps its expiry in a private `_expires` behind a getter; JSON goes
 * through its toJSON, and msgpack must too, so both formats store `cookie.expires`.
 */
function withPlainCookie(session: SessionData): SessionData {
  const cookie = session.cookie as { toJSON?: () => unknown } | undefined;
  return typeof cookie?.toJSON === 'function'
    ? ({ ...session, cookie: cookie.toJSON() } as SessionData)
    : session;
}

function parse(raw: StoredSession): unknown {
  try {
    if (typeof raw === 'string')
      return raw.startsWith('{') ? JSON.parse(raw) : undefined;
    if (raw.length === 0) return undefined;
    if (raw[0] === JSON_OPEN)
      return JSON.parse(
        // A view, not a copy: this runs on every session load.
        Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString(
          'utf8',
        ),
      );
    if (isMsgpackMap(raw[0])) return packr.unpack(raw);
  } catch {
    // Truncated or corrupt: reported by the caller as unreadable.
  }
  return undefined;
}

/** express-session dereferences `cookie` on every loaded session, so it must be there. */
function isSession(value: unknown): value is SessionData {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof (value as { cookie?: unknown }).cookie === 'object' &&
    (value as { cookie?: unknown }).cookie !== null
  );
}
