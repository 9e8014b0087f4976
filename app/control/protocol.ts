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
