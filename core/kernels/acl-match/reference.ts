/**
 * Kernel `acl-match`: for each packet (`src`, `dst`, `ports` = sport << 16 | dport, `proto`), the
 * index of the first rule of the ACL image that matches it, or -1 (NO_RULE). A packet without
 * ports (not TCP/UDP, or a later fragment) carries ports 0, and a rule's port ranges are held
 * against that 0, as rte_acl does with the bytes it reads.
 *
 * `aclMatchReference` is the definition, rule by rule over the logical rules (the oracle);
 * `aclMatchCpu` is the CPU form over the image (a linear first-match scan, what iptables does),
 * which the cpu backend, the null device and the ACL element without BACKEND run.
 */
import { ACL_HEADER_WORDS, ACL_RULE_WORDS, H_RULES, R_DPORTS, R_DST, R_DST_MASK, R_PROTO, R_SPORTS, R_SRC, R_SRC_MASK } from '../../structures/acl/acl-image.js';
import { ruleMatches, type AclRule } from '../../structures/acl/acl-rules.js';
import type { AclMatchIo } from './contract.js';

export const NO_RULE = -1;

/** The definition: the first of `rules` that matches each packet. */
export function aclMatchReference(rules: readonly AclRule[], io: AclMatchIo): void {
  const { src, dst, ports, proto } = io.inputs;
  const out = io.outputs.rule;
  for (let i = 0; i < io.count; i++) {
    out[i] = NO_RULE;
    for (let r = 0; r < rules.length; r++) {
      if (ruleMatches(rules[r], src[i], dst[i], ports[i], proto[i])) {
        out[i] = r;
        break;
      }
    }
  }
}

// Module-local copies of the layout's offsets (acl-image.ts) the scan reads: V8 folds a module's
// own `const` into the code but loads an imported binding on every use (the scan ran at 500 ns a
// packet over 128 rules with the imports, 210 with these; lookup-batch.ts found the same).
const HEADER_WORDS = 8;
const RULE_WORDS = 8;
const SRC = 0;
const SRC_MASK = 1;
const DST = 2;
const DST_MASK = 3;
const SPORTS = 4;
const DPORTS = 5;
const PROTO = 6;
if (
  HEADER_WORDS !== ACL_HEADER_WORDS || RULE_WORDS !== ACL_RULE_WORDS || SRC !== R_SRC || SRC_MASK !== R_SRC_MASK ||
  DST !== R_DST || DST_MASK !== R_DST_MASK || SPORTS !== R_SPORTS || DPORTS !== R_DPORTS || PROTO !== R_PROTO
) {
  throw new Error('acl-match: offsets out of step with acl-image.ts');
}

/**
 * The CPU form over the image (as int32 words: V8 keeps them on its small-integer path). Both
 * address tests are one branch (their differences OR-ed). Port ranges compare as non-negative
 * 16-bit halves.
 */
export function aclMatchCpu(image: Int32Array, io: AclMatchIo): void {
  const { src, dst, ports, proto } = io.inputs;
  const out = io.outputs.rule;
  const end = HEADER_WORDS + image[H_RULES] * RULE_WORDS;
  for (let i = 0; i < io.count; i++) {
    const s = src[i];
    const d = dst[i];
    const sport = (ports[i] >>> 16) & 0xffff;
    const dport = ports[i] & 0xffff;
    const p = proto[i];
    let found = NO_RULE;
    for (let at = HEADER_WORDS; at < end; at += RULE_WORDS) {
      if ((((s & image[at + SRC_MASK]) ^ image[at + SRC]) | ((d & image[at + DST_MASK]) ^ image[at + DST])) !== 0) continue;
      const sp = image[at + SPORTS];
      if (sport < sp >>> 16 || sport > (sp & 0xffff)) continue;
      const dp = image[at + DPORTS];
      if (dport < dp >>> 16 || dport > (dp & 0xffff)) continue;
      const pr = image[at + PROTO];
      if ((p & (pr >> 8)) !== (pr & 0xff)) continue;
      found = ((at - HEADER_WORDS) / RULE_WORDS) | 0;
      break;
    }
    out[i] = found;
  }
}
