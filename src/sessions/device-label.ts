import Bowser from 'bowser';

/** "Chrome 126 on Windows 10", from a User-Agent header; "Unknown device" without one. */
export function deviceLabel(userAgent: string | undefined): string {
  if (!userAgent) return 'Unknown device';
  const { browser, os, platform } = Bowser.parse(userAgent);
  const name = [browser.name, majorOf(browser.version)]
    .filter(Boolean)
    .join(' ');
  const system = [os.name, os.versionName ?? majorOf(os.version)]
    .filter(Boolean)
    .join(' ');
  const where = system || platform.type;
  if (!name) return where ? `Unknown browser on ${where}` : 'Unknown device';
  return where ? `${name} on ${where}` : name;
}

const majorOf = (version: string | undefined) => version?.split('.')[0];
