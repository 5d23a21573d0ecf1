import { inspect } from 'node:util';
import type { LoggerService } from '@nestjs/common';

/** Everything logged, through Nest's Logger (any level) or the console, as text. */
export class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  log = this.capture('log');
  error = this.capture('error');
  warn = this.capture('warn');
  debug = this.capture('debug');
  verbose = this.capture('verbose');
  fatal = this.capture('fatal');

  private capture(level: string) {
    return (...args: unknown[]) => {
      this.lines.push(
        `${level}: ${args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 8 }))).join(' ')}`,
      );
    };
  }
}
