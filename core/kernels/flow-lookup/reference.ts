/**
 * The CPU form of kernel `flow-lookup`, and the adapters between its columns and flat keys.
 *
 * The lookup itself is `flowLookup` (core/structures/flow-table/flow-table-image.ts), the flow
 * table's own definition of a lookup, which its writer uses too; this file only moves keys
 * between the kernel's per-word columns and the flat key array that `flowLookup` reads, so
 * there is one algorithm and every other form is tested to answer exactly what it answers.
 */
import { KEY_WORDS } from '../../flows/flow-key.js';
import { flowLookup } from '../../structures/flow-table/flow-table-image.js';
import { FLOW_KEY_COLUMNS, type FlowKeyColumn, type FlowLookupIo } from './contract.js';

export { flowLookup };

/** Flat keys (key i at keys[i*KEY_WORDS..]) from the kernel's key columns: `count` keys. */
export function keysFromColumns(inputs: Readonly<Record<FlowKeyColumn, Int32Array>>, count: number, keys: Uint32Array = new Uint32Array(count * KEY_WORDS)): Uint32Array {
  if (keys.length < count * KEY_WORDS) throw new Error(`flow-lookup: key buffer of ${keys.length} words is shorter than ${count} keys`);
  for (let w = 0; w < KEY_WORDS; w++) {
    const col = inputs[FLOW_KEY_COLUMNS[w]];
    for (let i = 0, k = w; i < count; i++, k += KEY_WORDS) keys[k] = col[i];
  }
  return keys;
}

/** The kernel's key columns from flat keys: `count` keys, each column an Int32Array of bit patterns. */
export function columnsFromKeys(keys: Uint32Array, count: number): Record<FlowKeyColumn, Int32Array> {
  if (keys.length < count * KEY_WORDS) throw new Error(`flow-lookup: ${keys.length} key words hold fewer than ${count} keys`);
  const out = {} as Record<FlowKeyColumn, Int32Array>;
  FLOW_KEY_COLUMNS.forEach((name, w) => {
    const col = new Int32Array(count);
    for (let i = 0, k = w; i < count; i++, k += KEY_WORDS) col[i] = keys[k];
    out[name] = col;
  });
  return out;
}

/**
 * The reference form: `flowLookup` over the keys gathered from the columns. `scratch` (at least
 * count * KEY_WORDS words) spares a caller that runs many batches an allocation per batch.
 */
export function flowLookupReference(image: Uint32Array, io: FlowLookupIo, scratch?: Uint32Array): void {
  const out = io.outputs.entry;
  if (out.length < io.count) throw new Error(`flow-lookup: output column is shorter than count ${io.count}`);
  const keys = keysFromColumns(io.inputs, io.count, scratch !== undefined && scratch.length >= io.count * KEY_WORDS ? scratch : undefined);
  flowLookup(image, keys, io.count, out);
}
