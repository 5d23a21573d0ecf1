import {
  sessionOptionsFromEnv,
  type Env,
  type SessionStoreHandle,
} from 'nest-server-session';
import { createStore } from '../../packages/nest-server-session/src/stores/index.js';
import { validateSessionOptions } from '../../packages/nest-server-session/src/options/session.options.js';

/**
 * A session store built from environment variables exactly as the app builds it (env mapping,
 * validation, createStore with its guard), without the HTTP app around it.
 */
export function openStoreFromEnv(env: Env): Promise<SessionStoreHandle> {
  const { options } = sessionOptionsFromEnv({ SESSION_SECRET: 'x', ...env });
  return createStore(validateSessionOptions(options));
}
