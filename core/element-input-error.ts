/**
 * An element could not use an input its configuration names (a route file that is missing,
 * unreadable, too large or wrong; routes that name outputs it does not have). Thrown while the
 * element is built; the graph reports it as a ConfigError at the element's declaration
 * (file:line:column), so `hetbox check` and `run` locate it like any other configuration error.
 */
export class ElementInputError extends Error {
  constructor(
    readonly element: string,
    readonly detail: string,
  ) {
    super(`${element}: ${detail}`);
    this.name = 'ElementInputError';
  }
}
