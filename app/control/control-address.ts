/**
 * Where a control socket listens (`hetbox run --control ADDR`) or where `hetbox ctl ADDR` connects:
 *
 *   PORT          digits only: TCP on 127.0.0.1 (0 = any free port)
 *   HOST:PORT     TCP on HOST (`[::1]:PORT` for an IPv6 address)
 *   anything else a Unix socket path, relative to the current directory unless absolute
 *                 (`s.sock`, `./7777` for a socket literally named 7777)
 *
 * A port outside 0..65535 is a ControlAddressError with a message fit for the command line.
 */
import { quoteUserText } from '../../core/quote-user-text.js';

export interface ControlAddress {
  /** TCP port on `host` (default 127.0.0.1), or a Unix socket path. */
  port?: number;
  host?: string;
  path?: string;
}

export class ControlAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlAddressError';
  }
}

export function parseControlAddress(text: string): ControlAddress {
  if (text === '') throw new ControlAddressError('empty control address: expected PORT, HOST:PORT or a socket path');
  const tcp = /^(?:(\[[^\]/]*\]|[^:/\[\]]+):)?(\d+)$/.exec(text);
  // Kept as written: the OS resolves a relative path against the cwd, and resolving it here could
  // push it past the 107-byte limit of a Unix socket address.
  if (tcp === null) return { path: text };
  const port = Number(tcp[2]);
  if (!Number.isSafeInteger(port) || port > 65535) {
    throw new ControlAddressError(`bad control address ${quoteUserText(text)}: port ${quoteUserText(tcp[2])} is not in 0..65535 (a socket path that looks like a port is written ./${tcp[2]})`);
  }
  const host = tcp[1] === undefined ? '127.0.0.1' : tcp[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}
