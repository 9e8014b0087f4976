/**
 * Every element class the config language knows, by Click class name and alias.
 * Add a class here when its file lands.
 */
import type { ElementClass } from '../core/element.js';

export const elementClasses: ElementClass<any>[] = [];

export function findElementClass(name: string): ElementClass<any> | undefined {
  return elementClasses.find((c) => c.className === name || (c.aliases ?? []).includes(name));
}
