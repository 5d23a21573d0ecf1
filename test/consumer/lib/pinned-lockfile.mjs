import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGE = 'nest-server-session';

/**
 * Writes a package-lock.json for a scratch app that pins every package to the version in this
 * repository's lockfile, so that `npm install --offline` finds all of them in npm's cache.
 *
 * Why a lockfile: the root `npm ci` caches the tarballs of exactly the locked versions, and only
 * the abbreviated package metadata. Resolving a range without a lockfile needs the full metadata
 * (npm asks for it when it builds a new tree), and would pick the newest versions, whose tarballs
 * need not be cached. Given this lockfile, npm keeps the entries the app's package.json needs
 * and drops the rest; the package itself comes from the tarball, with the nested dependencies
 * the workspace has.
 */
export function writePinnedLockfile(appDir, rootLockfile, tarballSpec) {
  const root = JSON.parse(readFileSync(rootLockfile, 'utf8'));
  const app = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
  const packages = {
    '': {
      name: app.name,
      version: app.version,
      dependencies: app.dependencies,
      devDependencies: app.devDependencies,
    },
  };
  const workspace = `packages/${PACKAGE}`;
  for (const [path, entry] of Object.entries(root.packages)) {
    if (path === '' || path === `node_modules/${PACKAGE}`) continue;
    if (path === workspace) {
      packages[`node_modules/${PACKAGE}`] = { ...entry, resolved: tarballSpec };
    } else if (path.startsWith(`${workspace}/`)) {
      packages[path.replace(`${workspace}/`, `node_modules/${PACKAGE}/`)] =
        entry;
    } else if (!path.startsWith('packages/')) {
      packages[path] = entry;
    }
  }
  const lockfile = {
    name: app.name,
    version: app.version,
    lockfileVersion: 3,
    requires: true,
    packages,
  };
  writeFileSync(
    join(appDir, 'package-lock.json'),
    `${JSON.stringify(lockfile, null, 2)}\n`,
  );
}
