import { randomBytes } from 'node:crypto';
import { SessionFileError } from './file-errors.js';

/**
 * What the files of the session folder are called. A session lives in base64url(key) +
 * `.session` (safe for any key, and reversible so listings find ids); everything else the
 * store keeps there (temp files, locks) starts with a dot, which base64url never does, so none
 * passes for a session, and none is longer than the session name it serves.
 */
export const SESSION_SUFFIX = '.session';
/** Longest file name the common filesystems take (ext4, xfs, btrfs, APFS). */
const MAX_NAME_BYTES = 255;
/** Longest key (prefix + id) in bytes whose file name fits in {@link MAX_NAME_BYTES}. */
export const MAX_FILE_KEY_BYTES = Math.floor(
  ((MAX_NAME_BYTES - SESSION_SUFFIX.length) * 3) / 4,
);

/** A version being written, or one set aside by the sweep; see {@link tempName}. */
export const TEMP_NAME = /^\..+\.tmp$/;
/** The lock of one session file; see {@link lockNameOf}. */
export const LOCK_NAME = /^\..+\.lock$/;
/** Held while a stale lock is broken; see {@link breakerNameOf}. */
export const BREAKER_NAME = /^\..+\.brk$/;

/** The file name of the session stored under `key`. */
export function sessionFileName(key: string): string {
  const name = Buffer.from(key).toString('base64url') + SESSION_SUFFIX;
  if (name.length > MAX_NAME_BYTES)
    throw new SessionFileError(
      `Session key too long for a file name: ${name.length} > ${MAX_NAME_BYTES} bytes`,
    );
  return name;
}

/** The key a session file name stands for; undefined for any other file. */
export function keyOfFileName(name: string): string | undefined {
  if (!name.endsWith(SESSION_SUFFIX) || name.startsWith('.')) return undefined;
  const encoded = name.slice(0, -SESSION_SUFFIX.length);
  const key = Buffer.from(encoded, 'base64url').toString();
  // Buffer decodes leniently; only names this store wrote encode back to themselves.
  return Buffer.from(key).toString('base64url') === encoded ? key : undefined;
}

/** `.<base64url key>.lock`: 2 bytes shorter than the session's own name, so it always fits. */
export const lockNameOf = (sessionName: string) =>
  `.${sessionName.slice(0, -SESSION_SUFFIX.length)}.lock`;

/** `.<base64url key>.brk`, beside the lock it guards. */
export const breakerNameOf = (lockName: string) =>
  lockName.replace(/\.lock$/, '.brk');

export const tempName = () => `.${randomBytes(12).toString('base64url')}.tmp`;
