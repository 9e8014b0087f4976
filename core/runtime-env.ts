/** What a running configuration offers its elements: paths, logging, and backends by name. */
import type { Backend, BackendName } from './backend.js';

export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface RuntimeEnv {
  /** Directory that relative file names in the configuration are resolved against. */
  baseDir: string;
  log: Logger;
  /** Under CI every backend is required: an unavailable one is an error, not a fallback. */
  strictBackends: boolean;
  /** Backend chosen on the command line (`--backend`), overriding elements' defaults. */
  defaultBackend?: BackendName;
  /** Aborted when the run is told to stop (control socket STOP, Ctrl-C): live sources end then. */
  stopSignal?: AbortSignal;
  /** A ready backend by name; rejects with the reason when it is unavailable. */
  backend(name: BackendName): Promise<Backend>;
}

export const consoleLogger: Logger = {
  info: (m) => process.stderr.write(`${m}\n`),
  warn: (m) => process.stderr.write(`warning: ${m}\n`),
};
