import { z } from 'zod';
import { integer } from '../../options/checks.js';
import { commonOptions } from '../../options/common.options.js';

/** Options of the memory store (tests and demos: nothing is shared or survives a restart). */
export const memoryOptions = commonOptions.extend({
  type: z.literal('memory'),
  /** Most sessions kept; the least recently used go first. @default 10000 */
  maxSessions: integer('must be a positive integer', 1).default(10_000),
});
