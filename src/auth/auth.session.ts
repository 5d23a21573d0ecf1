/** What the demo keeps in a session; typed once for every `req.session`. */
// Imported so that the block below augments express-session's types instead of replacing them.
import 'express-session';

declare module 'express-session' {
  interface SessionData {
    /** Name of the logged-in user; absent for anonymous visitors. */
    username?: string;
  }
}
