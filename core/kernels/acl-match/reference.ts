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

/**
 * The CPU form over the image (as int32 words: V8 keeps them on its small-integer path). Port
 * ranges compare as non-negative 16-bit halves; addresses and masks compare as bit patterns.
 */
export function aclMatchCpu(image: Int32Array, io: AclMatchIo): void {
  const { src, dst, ports, proto } = io.inputs;
  const out = io.outputs.rule;
  const rules = image[H_RULES];
  const end = ACL_HEADER_WORDS + rules * ACL_RULE_WORDS;
  for (let i = 0; i < io.count; i++) {
    const s = src[i];
    const d = dst[i];
    const sport = (ports[i] >>> 16) & 0xffff;
    const dport = ports[i] & 0xffff;
    const p = proto[i];
    let found = NO_RULE;
    for (let at = ACL_HEADER_WORDS; at < end; at += ACL_RULE_WORDS) {
      if ((s & image[at + R_SRC_MASK]) !== image[at + R_SRC]) continue;
      if ((d & image[at + R_DST_MASK]) !== image[at + R_DST]) continue;
      const sp = image[at + R_SPORTS];
      if (sport < sp >>> 16 || sport > (sp & 0xffff)) continue;
      const dp = image[at + R_DPORTS];
      if (dport < dp >>> 16 || dport > (dp & 0xffff)) continue;
      const pr = image[at + R_PROTO];
      if ((p & (pr >> 8)) !== (pr & 0xff)) continue;
      found = (at - ACL_HEADER_WORDS) / ACL_RULE_WORDS;
      break;
    }
    out[i] = found;
  }
}
