/**
 * Quote text a user gave (an element or handler name, a command, a route) for an error message.
 * Long input is cut so that a 5 MB name cannot turn into a 5 MB error line, and control
 * characters are escaped so that a reply or a log line stays one line. Every message that echoes
 * user input goes through here.
 */

/** Characters of user text kept in a message; the rest is summarised by its length. */
export const USER_TEXT_LIMIT = 80;

export function quoteUserText(text: string, limit = USER_TEXT_LIMIT): string {
  const cut = text.length > limit;
  const shown = (cut ? text.slice(0, limit) : text).replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return cut ? `'${shown}...' (${text.length} characters)` : `'${shown}'`;
}
