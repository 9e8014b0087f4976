/** A place in a configuration file, and the error that names it (file:line:column: message). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
}

export function formatLocation(loc: SourceLocation): string {
  return `${loc.file}:${loc.line}:${loc.column}`;
}

export class ConfigError extends Error {
  readonly loc: SourceLocation;
  readonly detail: string;
  constructor(loc: SourceLocation, detail: string) {
    super(`${formatLocation(loc)}: ${detail}`);
    this.name = 'ConfigError';
    this.loc = loc;
    this.detail = detail;
  }
}
