import { z } from 'zod';
import { bytes, prefixRules, quote, text } from '../../options/checks.js';
import {
  cleanupInterval,
  commonOptions,
} from '../../options/common.options.js';
import { fromEnv } from '../../options/env-vars.js';
import { SESSION_ID_LENGTH } from '../../session-id.js';
import { MAX_FILE_KEY_BYTES, MAX_NAME_BYTES } from './file-limits.js';

/** File names are base64url(prefix + id) + '.session' and must fit the file system's limit. */
export const FILE_MAX_PREFIX_BYTES = MAX_FILE_KEY_BYTES - SESSION_ID_LENGTH;

/** Options of the filesystem store. */
export const filesystemOptions = commonOptions
  .extend({
    type: z.literal('filesystem'),
    /** Directory of the session files (created, mode 0700). @default './var/sessions' */
    directory: fromEnv(
      'SESSION_FILE_DIR',
      text(
        (value) =>
          value === ''
            ? 'must not be empty'
            : `must be a path, got ${quote(value)}`,
        (path) => path !== '',
      ).default('./var/sessions'),
      'folder of the session files (created, mode 0700)',
    ),
    cleanupInterval,
  })
  .superRefine(
    ...prefixRules((prefix) => [
      bytes(prefix) > FILE_MAX_PREFIX_BYTES &&
        `at most ${FILE_MAX_PREFIX_BYTES} bytes with the filesystem store (file names are limited to ${MAX_NAME_BYTES}), got ${bytes(prefix)}`,
    ]),
  );
