/** The combinations of Redis settings that cannot work, each refused with one line. */

type RedisTargetOptions = Partial<
  Record<
    | 'url'
    | 'sentinelName'
    | 'sentinelPassword'
    | 'username'
    | 'password'
    | 'database'
    | 'tls'
    | 'clusterNodes'
    | 'sentinels'
    | 'client',
    unknown
  >
>;

/** Each way of reaching Redis: its option and its variable. */
const TARGETS = [
  ['url', 'REDIS_URL'],
  ['clusterNodes', 'REDIS_CLUSTER_NODES'],
  ['sentinels', 'REDIS_SENTINELS'],
  ['client', 'client'],
] as const;

/** Settings that a client of the app's own already has. */
const CLIENT_SETTINGS = [
  'username',
  'password',
  'database',
  'tls',
  'sentinelName',
  'sentinelPassword',
] as const;

/**
 * The combinations that cannot work, as `[option, message, message naming variables]`: one
 * line each, so that a start stops with every problem at once.
 */
export function redisProblems(
  o: RedisTargetOptions,
): [string, string, string][] {
  const problems: [string, string, string][] = [];
  const given = TARGETS.filter(([key]) => o[key] !== undefined);
  if (given.length === 0)
    problems.push([
      'url',
      'must be a redis: or rediss: URL, got "undefined"',
      'must be a redis: or rediss: URL (or set REDIS_CLUSTER_NODES or REDIS_SENTINELS)',
    ]);
  for (const [key] of given.slice(1))
    problems.push([
      key,
      `cannot be combined with ${given[0][0]}: one way to reach Redis`,
      `cannot be combined with ${given[0][1]}: one way to reach Redis`,
    ]);
  if (o.sentinels !== undefined && o.sentinelName === undefined)
    problems.push([
      'sentinelName',
      'required with sentinels: the master name they monitor',
      'required with REDIS_SENTINELS: the master name they monitor',
    ]);
  for (const key of ['sentinelName', 'sentinelPassword'] as const)
    if (o[key] !== undefined && o.sentinels === undefined && !o.client)
      problems.push([
        key,
        'only with sentinels',
        `only with REDIS_SENTINELS, which is not set`,
      ]);
  if (o.database !== undefined && o.clusterNodes !== undefined)
    problems.push([
      'database',
      'a Redis Cluster has only database 0',
      'a Redis Cluster has only database 0 (unset it with REDIS_CLUSTER_NODES)',
    ]);
  problems.push(...urlConflicts(o));
  if (o.client !== undefined)
    for (const key of CLIENT_SETTINGS)
      if (o[key] !== undefined)
        problems.push([
          key,
          'not with client: set it on the client',
          `not with a client of the app's own: set it on the client`,
        ]);
  return problems;
}

/** Settings that a URL already carries, given twice, and TLS turned off on `rediss:`. */
function urlConflicts(o: RedisTargetOptions): [string, string, string][] {
  const url = typeof o.url === 'string' ? URL.parse(o.url) : null;
  if (!url) return [];
  const problems: [string, string, string][] = [];
  const twice = (key: string, part: string) =>
    problems.push([
      key,
      `url has ${part} already: give it in one place`,
      `REDIS_URL has ${part} already: give it in one place`,
    ]);
  if (o.username !== undefined && url.username !== '')
    twice('username', 'a user name');
  if (o.password !== undefined && url.password !== '')
    twice('password', 'a password');
  if (o.database !== undefined && url.pathname.length > 1)
    twice('database', 'a database');
  if (o.tls === false && url.protocol === 'rediss:')
    problems.push([
      'tls',
      'false, but url is rediss:',
      'false, but REDIS_URL is rediss: (TLS)',
    ]);
  return problems;
}
