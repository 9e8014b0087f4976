/**
 * `hetbox check CONFIG`: parse and validate (classes, arguments, ports) without running, and
 * ask each element class what its config refers to outside itself (FromDump's capture exists
 * and is one, ToDump's directory is writable), so check rejects what run would. A `PLACE`
 * pin is accepted (its backend name checked) by the graph builder; whether it can be honoured
 * is `hetbox plan`'s question.
 */
import { Router } from '../../core/router.js';
import { elementLibrary } from '../../elements/index.js';
import { parseFlags } from './parse-flags.js';
import { UsageError } from './usage-error.js';

export async function checkCommand(args: string[]): Promise<number> {
  const { positionals } = parseFlags(args, {});
  if (positionals.length !== 1) throw new UsageError('expected one CONFIG file');
  const router = Router.fromFile(positionals[0], elementLibrary);
  for (const node of router.graph.nodes) node.cls.checkEnvironment?.(node.element.config, node.parsed.args, router.env.baseDir);
  const n = router.graph.nodes.length;
  const c = router.graph.nodes.reduce((s, x) => s + x.outputs.length, 0);
  process.stdout.write(`${positionals[0]}: OK (${n} elements, ${c} connections)\n`);
  return 0;
}
