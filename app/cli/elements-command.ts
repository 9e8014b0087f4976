/** `hetbox elements [NAME]`: list element classes, or print one manual page. */
import { elementClasses, findElementClass } from '../../elements/index.js';
import { parseFlags } from './parse-flags.js';

export async function elementsCommand(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {});
  if (positionals.length === 0) {
    for (const c of [...elementClasses].sort((a, b) => a.className.localeCompare(b.className))) {
      const first = c.manual.trim().split('\n')[0];
      const aliases = c.aliases && c.aliases.length ? ` (aliases: ${c.aliases.join(', ')})` : '';
      process.stdout.write(`${c.className.padEnd(16)} ${first}${aliases}\n`);
    }
    return 0;
  }
  let status = 0;
  for (const name of positionals) {
    const c = findElementClass(name);
    if (c === undefined) {
      process.stderr.write(`hetbox elements: no element class '${name}'\n`);
      status = 1;
      continue;
    }
    process.stdout.write(`${c.manual.trim()}\n\nPorts: ${c.ports.inputs} input(s), ${c.ports.outputs} output(s)\n`);
  }
  return status;
}
