import { createHash, randomBytes } from 'node:crypto';
import { SessionFileError } from './file-errors.js';

/**
 * What the files of the session folder are called. A session lives in base64url(key) +
 * `.session` (safe for any key, and reversible so listings find ids); everything else the
 * store keeps there (temp files, locks, the users' folders of the per-user index) starts with
 * a dot, which base64url never does, so none passes for a session; no lock or temp file is
 * longer than the session name it serves.
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

/** A user's folder in the per-user index; see {@link userFolderName}. */
export const USER_FOLDER_NAME = /^\.[\w-]+\.user(?:-sha256)?$/;

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

/**
 * The folder of the per-user index entries of `key` (prefix + user id): `.<base64url key>.user`,
 * or `.<sha256 of key>.user-sha256` when that is too long for a file name. Neither form is
 * read back: each entry names its user inside, which also tells apart the users of two
 * prefixes whose keys meet (`app` + `2x`, `app2` + `x`).
 */
export function userFolderName(key: string): string {
  const name = `.${Buffer.from(key).toString('base64url')}.user`;
  if (name.length <= MAX_NAME_BYTES) return name;
  return `.${createHash('sha256').update(key).digest('base64url')}.user-sha256`;
}

export const tempName = () => `.${randomBytes(12).toString('base64url')}.tmp`;
