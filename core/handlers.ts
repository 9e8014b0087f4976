/**
 * Handlers: the control surface of a running element (Click's read/write handlers).
 * A write handler validates its value (zod) and throws HandlerError with a clear message;
 * the control socket turns that into an error reply, never a crash.
 */
export interface Handler {
  /** Read the handler; `arg` is the optional argument (`READ rt.lookup 10.0.0.1`). */
  read?: (arg?: string) => string | Promise<string>;
  write?: (value: string) => void | Promise<void>;
  /** One line shown by LIST and `hetbox elements`. */
  doc?: string;
}

export type HandlerTable = Record<string, Handler>;

export class HandlerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HandlerError';
  }
}
