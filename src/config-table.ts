import { envDoc, envFields, sessionEnvDocs } from 'nest-server-session';
import { appEnvironment } from './app.config.js';

const START =
  '<!-- config-table: made by `npm run docs:config` from the options schemas; edit those, not this table -->';
const END = '<!-- /config-table -->';

/** The README's table of variables: the app's own, then the session module's. */
export function configTable(): string {
  const rows = [
    ...envFields(appEnvironment).map((field) => envDoc(field, 'app')),
    ...sessionEnvDocs(),
  ];
  return [
    '| variable | default | used by | meaning |',
    '|---|---|---|---|',
    ...rows.map(
      (row) =>
        `| ${row.variable} | ${row.default} | ${row.usedBy} | ${row.meaning} |`,
    ),
  ].join('\n');
}

/** `readme` with the table between its markers made anew; throws when the markers are missing. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END, start);
  if (start < 0 || end < 0)
    throw new Error(`README.md has no "${START}" ... "${END}" markers`);
  return `${readme.slice(0, start)}${START}\n${configTable()}\n${readme.slice(end)}`;
}
