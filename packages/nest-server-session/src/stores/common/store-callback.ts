/** express-session's callback convention, which the consistent store answers in. */
export type Callback<T = unknown> = (err?: unknown, value?: T) => void;
