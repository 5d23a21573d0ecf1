/** What the demo keeps in a session; typed once for every `req.session`. */
declare module 'express-session' {
  interface SessionData {
    /** Name of the logged-in user; absent for anonymous visitors. */
    username?: string;
  }
}

export {};
