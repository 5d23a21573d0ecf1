/** Injection token of the {@link SessionStoreHandle} the module builds from its options. */
export const SESSION_STORE = Symbol('SESSION_STORE');

/** Injection token of the options after validation, with every default filled in. */
export const RESOLVED_SESSION_OPTIONS = Symbol('RESOLVED_SESSION_OPTIONS');
