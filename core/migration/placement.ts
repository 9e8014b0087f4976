/**
 * Where a migration moves a kernel: one location (`webgpu`, `gpujs/cpu`, `cpu`) or a split of
 * its batches between two (`webgpu:0.7,cpu`, PLACE's notation: an omitted share is the rest).
 * The `migrate` handler, `hetbox run --migrate` and the adapter all name targets this way, and
 * a split's label (`webgpu:0.7,cpu:0.3`) is what `location` and the migration log print.
 */
import { backendNameSchema } from '../backend-registry.js';
import type { BackendName } from '../backend.js';
import type { OffloadRunner } from '../offload/offload-runner.js';

export interface PlacementPart {
  backend: BackendName;
  variant?: string;
  /** Share of the batches: 1 for a single location; a split's shares sum to 1. */
  weight: number;
}

/** A part as the element runs it: its runner, or null for the inline cpu form on the element's own image. */
export interface PlacedPart extends PlacementPart {
  runner: OffloadRunner | null;
}

/** `backend` or `backend/variant`. */
export function partLabel(p: { backend: string; variant?: string }): string {
  return p.variant === undefined ? p.backend : `${p.backend}/${p.variant}`;
}

/** A single location's label, or a split's `a:W,b:W2` (shares to 6 decimals, as the split handler prints them). */
export function placementLabel(parts: readonly PlacementPart[]): string {
  if (parts.length === 1) return partLabel(parts[0]);
  return parts.map((p) => `${partLabel(p)}:${shareText(p.weight)}`).join(',');
}

export function shareText(w: number): string {
  return String(Math.round(w * 1e6) / 1e6);
}

/** Whether the part runs inline on the host (no runner, the element's own image). */
export function isInlineCpu(p: { backend: string; variant?: string }): boolean {
  return p.backend === 'cpu' && p.variant === undefined;
}

/** Parses a target; an Error's message says what is wrong with it. `variant` applies to a single backend named without one. */
export function parsePlacement(text: string, variant?: string): PlacementPart[] {
  const value = text.trim();
  if (value === '') throw new Error('expected a backend (e.g. webgpu) or a split (e.g. webgpu:0.7,cpu)');
  if (!/[:,]/.test(value)) {
    const p = parsePart(value);
    return [{ ...p, ...(p.variant === undefined && variant !== undefined ? { variant } : {}), weight: 1 }];
  }
  const items = value.split(',').map((x) => x.trim());
  if (items.length !== 2) throw new Error(`split '${value}': a split names two backends (e.g. webgpu:0.7,cpu)`);
  const parts = items.map((item) => {
    const colon = item.indexOf(':');
    const p = parsePart(colon < 0 ? item : item.slice(0, colon));
    if (colon < 0) return { ...p, weight: undefined };
    const raw = item.slice(colon + 1).trim();
    const w = Number(raw);
    if (raw === '' || !Number.isFinite(w) || w <= 0 || w >= 1) throw new Error(`split '${value}': the share of ${partLabel(p)} must be a number between 0 and 1 (exclusive)`);
    return { ...p, weight: w };
  });
  const given = parts.filter((p) => p.weight !== undefined);
  if (given.length === 0) throw new Error(`split '${value}': give the first backend its share (e.g. webgpu:0.7,cpu)`);
  const sum = given.reduce((s, p) => s + (p.weight ?? 0), 0);
  if (given.length === 2 && Math.abs(sum - 1) > 1e-9) throw new Error(`split '${value}': the shares sum to ${sum}, not 1`);
  if (partLabel(parts[0]) === partLabel(parts[1])) throw new Error(`split '${value}': both parts name the same backend`);
  return parts.map((p) => ({ backend: p.backend, ...(p.variant === undefined ? {} : { variant: p.variant }), weight: p.weight ?? 1 - sum }));
}

function parsePart(text: string): { backend: BackendName; variant?: string } {
  const slash = text.indexOf('/');
  const name = slash < 0 ? text : text.slice(0, slash);
  const variant = slash < 0 ? undefined : text.slice(slash + 1);
  const r = backendNameSchema.safeParse(name);
  if (!r.success) throw new Error(r.error.issues[0]?.message ?? `unknown backend '${name}'`);
  if (variant === '') throw new Error(`expected a variant after '${name}/'`);
  return { backend: r.data, ...(variant === undefined ? {} : { variant }) };
}
