/**
 * The ACL's flat image: what every backend holds and the acl-match kernel scans.
 *
 * Layout (u32 words):
 *   header, ACL_HEADER_WORDS: magic 'ACL4', layout version, rule count, words per rule, 4 reserved
 *   rule r at ACL_HEADER_WORDS + r * ACL_RULE_WORDS:
 *     0 source prefix (host bits clear)        1 source mask
 *     2 destination prefix (host bits clear)   3 destination mask
 *     4 source port low << 16 | high           5 destination port low << 16 | high
 *     6 protocol mask << 8 | value             7 action (0 allow, 1 deny)
 *
 * A packet's rule is the first r whose every field matches: an image is a list scanned in order,
 * so a GPU thread or an FPGA comparator bank reads it as plainly as the CPU does. A new rule set
 * is a whole new image (one delta writing every word, the header last).
 */
import type { ImageDelta } from '../image.js';
import { registerStructureKind } from '../structure-kinds.js';
import { prefixMask, type AclAction, type AclRule } from './acl-rules.js';

export const ACL_RULES_V4 = 'acl-rules-v4';
export const ACL_MAGIC = 0x41434c34; // 'ACL4'
export const ACL_LAYOUT = 1;
export const ACL_HEADER_WORDS = 8;
export const ACL_RULE_WORDS = 8;
export const H_MAGIC = 0;
export const H_LAYOUT = 1;
export const H_RULES = 2;
export const H_RULE_WORDS = 3;

export const R_SRC = 0;
export const R_SRC_MASK = 1;
export const R_DST = 2;
export const R_DST_MASK = 3;
export const R_SPORTS = 4;
export const R_DPORTS = 5;
export const R_PROTO = 6;
export const R_ACTION = 7;

export const ACTION_ALLOW = 0;
export const ACTION_DENY = 1;

export function aclImage(rules: readonly AclRule[]): Uint32Array {
  const image = new Uint32Array(ACL_HEADER_WORDS + rules.length * ACL_RULE_WORDS);
  image[H_MAGIC] = ACL_MAGIC;
  image[H_LAYOUT] = ACL_LAYOUT;
  image[H_RULES] = rules.length;
  image[H_RULE_WORDS] = ACL_RULE_WORDS;
  rules.forEach((r, i) => {
    const at = ACL_HEADER_WORDS + i * ACL_RULE_WORDS;
    image[at + R_SRC] = r.src;
    image[at + R_SRC_MASK] = prefixMask(r.srcLen);
    image[at + R_DST] = r.dst;
    image[at + R_DST_MASK] = prefixMask(r.dstLen);
    image[at + R_SPORTS] = ((r.sportLo << 16) | r.sportHi) >>> 0;
    image[at + R_DPORTS] = ((r.dportLo << 16) | r.dportHi) >>> 0;
    image[at + R_PROTO] = (r.protoMask << 8) | r.protoValue;
    image[at + R_ACTION] = r.action === 'deny' ? ACTION_DENY : ACTION_ALLOW;
  });
  return image;
}

/** The action of rule `r` of an image. */
export function aclAction(image: Uint32Array, r: number): AclAction {
  return image[ACL_HEADER_WORDS + r * ACL_RULE_WORDS + R_ACTION] === ACTION_DENY ? 'deny' : 'allow';
}

/**
 * The delta that replaces the rule set (generation `fromGeneration`) by the image `to`: every
 * word of it, the header last. The rules are overwritten in place, so a delta is applied between
 * runs, as every backend here does (in order with the batches around it), never under a scan.
 */
export function aclReplaceDelta(to: Uint32Array, fromGeneration: number): ImageDelta {
  return {
    kind: ACL_RULES_V4,
    fromGeneration,
    toGeneration: fromGeneration + 1,
    length: to.length,
    writes: [
      { offset: ACL_HEADER_WORDS, words: to.slice(ACL_HEADER_WORDS) },
      { offset: 0, words: to.slice(0, ACL_HEADER_WORDS) },
    ],
  };
}

function checkAclHeader(word: (i: number) => number, length: number): string | null {
  if (length < ACL_HEADER_WORDS) return `${length} words, fewer than the ${ACL_HEADER_WORDS}-word header`;
  if (word(H_MAGIC) !== ACL_MAGIC) return `magic 0x${word(H_MAGIC).toString(16)}, expected 0x${ACL_MAGIC.toString(16)} ('ACL4')`;
  if (word(H_LAYOUT) !== ACL_LAYOUT) return `layout ${word(H_LAYOUT)}, expected ${ACL_LAYOUT}`;
  if (word(H_RULE_WORDS) !== ACL_RULE_WORDS) return `${word(H_RULE_WORDS)} words per rule, expected ${ACL_RULE_WORDS}`;
  const want = ACL_HEADER_WORDS + word(H_RULES) * ACL_RULE_WORDS;
  if (length !== want) return `length ${length} words, the header says ${want} (${word(H_RULES)} rules x ${ACL_RULE_WORDS} words + header)`;
  return null;
}

export function checkAclImage(image: Uint32Array): string | null {
  return checkAclHeader((i) => image[i], image.length);
}

/** A delta must leave a whole image: it writes the header, and the header it writes fits its length. */
export function checkAclDelta(delta: ImageDelta): string | null {
  const header = delta.writes.find((w) => w.offset === 0 && w.words.length >= ACL_HEADER_WORDS);
  if (header === undefined) return 'an ACL delta replaces the rule set and must write the header';
  return checkAclHeader((i) => header.words[i], delta.length);
}

registerStructureKind({
  kind: ACL_RULES_V4,
  description: 'IPv4 access-control list, rules scanned in order (first match), layout 1 (core/structures/acl/)',
  publishWords: ACL_HEADER_WORDS,
  checkImage: checkAclImage,
  checkDelta: checkAclDelta,
});
