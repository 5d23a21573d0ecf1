import {
  sessionOptionsFromEnv,
  type Env,
  type SessionStoreHandle,
} from '../../src/session/index.js';
import { createStore } from '../../src/session/stores/index.js';
import { validateSessionOptions } from '../../src/session/validate-session-options.js';

/**
 * A session store built from environment variables exactly as the app builds it (env mapping,
 * validation, createStore with its guard), without the HTTP app around it.
 */
export function openStoreFromEnv(env: Env): Promise<SessionStoreHandle> {
  const { options } = sessionOptionsFromEnv({ SESSION_SECRET: 'x', ...env });
  return createStore(validateSessionOptions(options));
}
