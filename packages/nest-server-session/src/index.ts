export { SessionModule } from './session.module.js';
export { SessionService } from './session.service.js';
export { UserSessions, type UserSessionInfo } from './user-sessions.service.js';
export {
  SESSION_STORE,
  RESOLVED_SESSION_OPTIONS,
} from './session.constants.js';
export { SESSION_MODULE_OPTIONS } from './session.module-definition.js';
export {
  SESSION_TYPES,
  sessionOptionsSchema,
  validateSessionOptions,
  type ResolvedOptionsOf,
  type ResolvedSessionOptions,
  type SessionModuleOptions,
  type SessionType,
} from './options/session.options.js';
export {
  COOKIE_NAME_PATTERN,
  DEFAULT_LIFETIME_SECONDS,
  DEFAULT_PREFIX,
  SERIALIZATION_FORMATS,
  type SerializationFormat,
} from './options/common.options.js';
export {
  sessionEnvDocs,
  sessionOptionsFromEnv,
  type SessionEnvResult,
} from './options/session.env.js';
export {
  envDoc,
  envFields,
  fromEnv,
  readEnv,
  type Env,
  type EnvDoc,
  type EnvVar,
} from './options/env-vars.js';
export {
  integer as integerFromEnv,
  type EnvCodec,
} from './options/env-codecs.js';
export { InvalidConfigError } from './options/invalid-config.error.js';
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
  StoreHealth,
  StoreNodeHealth,
} from './stores/store.contract.js';
