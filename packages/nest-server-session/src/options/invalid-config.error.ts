/**
 * Every problem found in a configuration, one `name: reason` line each, so that a bad
 * deployment is fixed in one go rather than one restart per mistake.
 */
export class InvalidConfigError extends Error {
  constructor(
    readonly problems: string[],
    heading = 'Invalid session configuration',
  ) {
    super(`${heading}:\n${problems.join('\n')}`);
    this.name = 'InvalidConfigError';
  }
}
