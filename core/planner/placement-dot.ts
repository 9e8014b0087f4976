/**
 * The picture of a placement as Graphviz DOT: the element graph, each element filled with its
 * backend's colour (a legend lists them), each edge labelled with the packet rate the chosen
 * placement is predicted to carry over it. Layout is Graphviz's (`hetbox plan --svg` renders
 * this text with @viz-js/viz); nothing here positions anything.
 */
import type { PlacementProblem } from './placement-problem.js';
import type { PlanReport } from './explain.js';
import { formatNs, formatRate } from './search.js';

/** Fill colours by backend name; an unknown backend takes the next spare one. */
const BACKEND_COLOURS: Record<string, string> = {
  cpu: '#dbe9f6',
  webgpu: '#b7e4a8',
  gpujs: '#ffd59e',
  fpga: '#d9c2f0',
  null: '#fff3a0',
};
const SPARE_COLOURS = ['#f6c1c1', '#c1f0ec', '#e0e0e0', '#f0d0e8'];

/** A DOT double-quoted string (backslash and quote escaped; newlines as DOT's centred \n). */
function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}

function colourFor(label: string, spares: Map<string, string>): string {
  const backend = label.split('/')[0];
  const known = BACKEND_COLOURS[backend];
  if (known !== undefined) return known;
  let c = spares.get(backend);
  if (c === undefined) {
    c = SPARE_COLOURS[spares.size % SPARE_COLOURS.length];
    spares.set(backend, c);
  }
  return c;
}

export function placementDot(problem: PlacementProblem, report: PlanReport, title: string): string {
  const spares = new Map<string, string>();
  const chosen = report.chosen;
  const throughput = chosen.prediction.throughputPps;
  const lines: string[] = [];
  lines.push('digraph placement {');
  lines.push('  rankdir=LR;');
  const subtitle = `${report.objective}: ${formatRate(throughput)}, latency ${formatNs(chosen.prediction.latencyNs)}, bottleneck ${chosen.prediction.bottleneck}`;
  lines.push(`  label=${quote(`${title}\n${subtitle}`)}; labelloc=t; fontname="Helvetica";`);
  lines.push('  node [shape=box, style="rounded,filled", fontname="Helvetica"];');
  lines.push('  edge [fontname="Helvetica", fontsize=10];');
  const used = new Set<string>();
  const elementReports = new Map(report.elements.map((r) => [r.name, r]));
  for (const e of problem.elements) {
    const backend = chosen.placement[e.name];
    used.add(backend);
    const report = elementReports.get(e.name);
    const cost = report?.candidates.find((c) => c.chosen);
    // Kernel elements show their own time per batch there: the figure the choice was made on.
    const time = e.kernels.length === 0 || cost?.computeNs === undefined ? '' : `: ${formatNs(cost.computeNs + (cost.transferNs ?? 0))}/batch`;
    const offloaded = backend !== 'cpu';
    lines.push(`  n${e.index} [label=${quote(`${e.name}\n${e.className}\n${backend}${time}`)}, fillcolor=${quote(colourFor(backend, spares))}${offloaded ? ', penwidth=2' : ''}];`);
  }
  for (const e of problem.elements) {
    // Edge rate = what the element sees, split as the model splits it (see placement-problem.ts).
    const share = e.copies ? e.share : e.share / Math.max(1, e.outputs.length);
    e.outputs.forEach((o, port) => {
      lines.push(`  n${e.index} -> n${o} [label=${quote(`[${port}] ${formatRate(throughput * share)}`)}];`);
    });
  }
  lines.push('  subgraph cluster_legend {');
  lines.push('    label="backends"; fontname="Helvetica"; style=dashed;');
  [...used].sort().forEach((b, i) => {
    lines.push(`    legend${i} [label=${quote(b)}, fillcolor=${quote(colourFor(b, spares))}];`);
  });
  lines.push('  }');
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
