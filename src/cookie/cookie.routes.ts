/** The cookie demo's routes, as the guide names them. */
export const COOKIE_ROUTES = {
  set: 'setcookie',
  get: 'getcookie',
  delete: 'delcookie',
} as const;
