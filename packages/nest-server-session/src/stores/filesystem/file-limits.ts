/** Ending of every session file's name. */
export const SESSION_FILE_SUFFIX = '.session';
/** Longest file name the common filesystems take (ext4, xfs, btrfs, APFS). */
export const MAX_NAME_BYTES = 255;
/** Longest key (prefix + id) in bytes whose base64url file name fits in {@link MAX_NAME_BYTES}. */
export const MAX_FILE_KEY_BYTES = Math.floor(
  ((MAX_NAME_BYTES - SESSION_FILE_SUFFIX.length) * 3) / 4,
);
