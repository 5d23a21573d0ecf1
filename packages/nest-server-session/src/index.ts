export { SessionModule } from './session.module.js';
export { SessionService } from './session.service.js';
export { UserSessions, type UserSessionInfo } from './user-sessions.service.js';
export {
  SESSION_STORE,
  RESOLVED_SESSION_OPTIONS,
} from './session.constants.js';
export { SESSION_MODULE_OPTIONS } from './session.module-definition.js';
export * from './session.options.js';
export { sessionOptionsFromEnv, type Env } from './session.env.js';
export { InvalidConfigError } from './invalid-config.error.js';
export { COOKIE_NAME_PATTERN } from './option-checks.js';
export { StoreUnavailableError } from './store-unavailable.error.js';
export { SessionTooLargeError } from './session-too-large.error.js';
export type { SessionStoreHandle } from './stores/index.js';
export type {
  IndexedSession,
  SessionDevice,
  UserSessionIndex,
  SessionBackend,
  LoadedSession,
  ReplaceOutcome,
  SessionListing,
  SessionVersion,
} from './stores/store.contract.js';
