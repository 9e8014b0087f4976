/**
 * Flow-local storage: elements declare typed per-flow fields, and the flow table reserves room
 * for every declaring element in each entry (after the fixed words, see flow-table-image.ts).
 * A field is a word offset inside an entry; its value lives in the table's image, so it is
 * exported, mirrored and migrated with the table. u64 takes two words (low, high) and reads
 * back as a number (exact to 2^53); the others take one.
 */
import { ENTRY_FIXED_WORDS } from './flow-table-image.js';

export type FlowFieldType = 'u32' | 'i32' | 'f32' | 'u64';

export interface FlowFieldDecl {
  name: string;
  type: FlowFieldType;
}

export interface FlowField {
  readonly owner: string;
  readonly name: string;
  readonly type: FlowFieldType;
  /** Word offset inside an entry. */
  readonly offset: number;
}

/** The set of declared fields; frozen once a table is built from it. */
export class FlowLayout {
  private readonly regions = new Map<string, Record<string, FlowField>>();
  private next = ENTRY_FIXED_WORDS;
  private frozen = false;

  /** Reserve `fields` for `owner` (an element name); declaring the same owner twice is an error. */
  declare(owner: string, fields: readonly FlowFieldDecl[]): Record<string, FlowField> {
    if (this.frozen) throw new Error(`flow fields of ${owner}: declared after the flow table was built (declare them in the constructor)`);
    if (this.regions.has(owner)) throw new Error(`flow fields of ${owner}: declared twice`);
    const out: Record<string, FlowField> = {};
    for (const f of fields) {
      if (f.name in out) throw new Error(`flow fields of ${owner}: field ${f.name} declared twice`);
      out[f.name] = { owner, name: f.name, type: f.type, offset: this.next };
      this.next += f.type === 'u64' ? 2 : 1;
    }
    this.regions.set(owner, out);
    return out;
  }

  /** Words per entry: the fixed words plus every declared field. */
  get entryWords(): number {
    return this.next;
  }

  freeze(): void {
    this.frozen = true;
  }

  /** Every declared field, by owner (for exports and the manual's `fields` handler). */
  describe(): string {
    const lines: string[] = [];
    for (const [owner, fields] of this.regions) {
      for (const f of Object.values(fields)) lines.push(`${owner}.${f.name} ${f.type} @${f.offset}`);
    }
    return lines.join('\n');
  }
}
