/**
 * The control protocol, after Click's ControlSocket: a line protocol on loopback TCP or a Unix
 * socket. The server greets with `hetbox::ControlSocket/1.3`; each command gets a reply line
 * `CODE text`, and READ adds `DATA n` and n bytes.
 *
 *   READ element.handler [arg]     200, then DATA
 *   WRITE element.handler value    200
 *   WRITEDATA element.handler n    then n bytes of value; 200
 *   LIST                           200, then DATA: `name modes` per line (hetbox extension)
 *   CHECKREAD h / CHECKWRITE h     200 if the handler exists with that mode
 *   QUIT                           closes the connection
 *
 * Bounds per connection (ControlLimits in control-server.ts; defaults): a command line of at most
 * 1 MiB (longer: 500, then the connection is closed); a WRITEDATA value of at most 4 MiB (larger:
 * 500 at once, and the declared bytes are read and thrown away as they arrive, so the connection
 * stays in step); at most 1 MiB of replies the client has not taken (beyond it the server stops
 * reading that client's commands until it reads; after 30 s without progress, or past 64 MiB in
 * one reply, it is disconnected). A client may half-close after its commands: every reply is
 * still sent, then the connection ends. Error texts are one line; user input in them is cut to
 * 80 characters.
 */
export const GREETING = 'hetbox::ControlSocket/1.3';

export const Status = {
  ok: 200,
  syntaxError: 500,
  unimplemented: 501,
  noSuchElement: 510,
  noSuchHandler: 511,
  handlerError: 520,
  permissionDenied: 530,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];
