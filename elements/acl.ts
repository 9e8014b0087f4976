/**
 * ACL(RULES file, [DEFAULT allow|deny, OFFSET n, BACKEND b, IN_FLIGHT n])
 *
 * Ports: 1 input, 1 or 2 outputs.
 *
 * An IPv4 access-control list in first-match order (iptables, DPDK rte_acl): the first rule of
 * the RULES file that matches a packet decides. allow: output 0; deny: output 1 when it is
 * connected, else the packet is dropped and counted (drop reason `denied`). A packet no rule
 * matches takes DEFAULT. The match is the `acl-match` kernel, so it runs on any backend that
 * has a form (cpu inline by default; BACKEND webgpu or null through the offload runner, the
 * rules resident there, with visible CPU fallback). Each batch is classified with the rules
 * as they were when it started, whatever a reload does while it is on a device.
 *
 * The fields are read from the IPv4 header at OFFSET: source, destination, the protocol number
 * (every protocol's own), and the ports (sport << 16 | dport) of TCP and UDP packets that hold
 * them and are not later fragments (a first fragment carries its ports). Every other packet
 * carries ports 0, which a rule's port ranges are held against, as rte_acl does. A packet that
 * is not IPv4 or has fewer than 20 bytes from OFFSET takes DEFAULT and is counted (`not_ipv4`).
 *
 * The rule file is ClassBench's filter format, as DPDK's l3fwd-acl and test-acl read it: one
 * rule a line, `@SRC/LEN DST/LEN SPORT_LO : SPORT_HI DPORT_LO : DPORT_HI PROTO/MASK [allow|deny]`
 * (no action: deny; `#` starts a comment), e.g.
 * `@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF allow`. A bad rule is an error naming its
 * file:line:column.
 *
 * Keywords:
 *   RULES      the rule file, relative to the configuration's directory.
 *   DEFAULT    allow (default) or deny: what packets no rule matches, and packets without an
 *              IPv4 header, get.
 *   OFFSET     where the IPv4 header starts in the packet (default 0: after Strip(14)); 14 for
 *              Ethernet frames.
 *   BACKEND    cpu (default), webgpu or null (gpujs and fpga have no acl-match form yet: the
 *              kernel falls back to cpu, visibly); IN_FLIGHT batches in flight (default 3).
 *
 * Handlers:
 *   count (read)        packets classified (allowed + denied)
 *   allowed (read)      packets allowed (output 0)
 *   denied (read)       packets denied (output 1, or dropped)
 *   unmatched (read)    IPv4 packets no rule matched (DEFAULT decided)
 *   not_ipv4 (read)     packets that were not IPv4 or too short (DEFAULT decided)
 *   drops (read)        packets dropped (denied without a second output)
 *   rules (read)        the rules in order, one a line in the file format
 *   hits (read)         `INDEX LINE HITS` for each rule that matched since the rules were loaded
 *                       (INDEX from 0, LINE the rule's line in its file), then `default N`: the
 *                       IPv4 packets no rule matched since then
 *   reload (write)      read the rules again from a file (empty: RULES; relative to the
 *                       configuration's directory). A bad file is refused with its
 *                       file:line:column and the old rules stay. Batches started before keep the
 *                       old rules, later ones (on a backend too) get the new; hits start over.
 *   backend, backend_requested, backend_device, backend_fallback (read)   where the kernel runs
 *   kernel_stats (read)  runs per (kernel, backend, variant): batches, items, host time, device figures
 *                        (inline cpu runs are timed on 1 batch in 16, the others' host time
 *                        estimated at the timed mean per item)
 */
import path from 'node:path';
import { z } from 'zod';
import { Element, type ElementInit, type ElementOutput } from '../core/element.js';
import { splitByPorts } from '../core/element-helpers/classify-element.js';
import { ScratchInt32 } from '../core/element-helpers/scratch.js';
import { SampledKernelTiming } from '../core/element-helpers/sampled-kernel-timing.js';
import { StateError, statePart, type ElementDeclaration, type ElementState } from '../core/element-state.js';
import { ElementInputError } from '../core/element-input-error.js';
import type { PacketBatch } from '../core/packet-batch.js';
import { arg, parseArgs, type ArgSpec, type ConfigArgs } from '../core/config/args.js';
import { HandlerError, type HandlerTable } from '../core/handlers.js';
import type { BackendName } from '../core/backend.js';
import { backendNameSchema } from '../core/backend-registry.js';
import { openElementOffload, type OffloadRunner } from '../core/offload/offload-runner.js';
import { KernelStats, type KernelStatsEntry } from '../core/kernel-stats.js';
import { ACL_MATCH, aclMatchCpu, type AclMatchIo } from '../core/kernels/acl-match/index.js';
import { ACL_RULES_V4, aclImage, aclReplaceDelta } from '../core/structures/acl/acl-image.js';
import { AclRuleError, formatAclRule, loadAclRules, type AclRule } from '../core/structures/acl/acl-rules.js';
import { readBE32, transportPorts } from '../core/net/ipv4.js';
import type { ImageDelta } from '../core/structures/image.js';
import { counterHandler } from './lib/handler-helpers.js';

export interface ACLConfig {
  RULES: string;
  DEFAULT: 'allow' | 'deny';
  OFFSET: number;
  BACKEND?: BackendName;
  IN_FLIGHT: number;
}

/**
 * One loaded rule set: the rules, their image, and what the element needs after a batch's
 * match (each rule's action, its hit counts). Never changed once made: a reload makes a new one,
 * so a batch keeps the set it started with.
 */
interface AclRuleSet {
  file: string;
  rules: readonly AclRule[];
  image: Uint32Array;
  /** The image as int32 words (aclMatchCpu's view; the same memory). */
  words: Int32Array;
  /** Per rule: 1 deny, 0 allow. */
  deny: Uint8Array;
  /** Per rule: packets it matched since this set was loaded (the `hits` handler). */
  hits: Float64Array;
  /** IPv4 packets no rule of this set matched. */
  misses: number;
  generation: number;
}

/** The state's logical form of the `acl` structure. */
interface AclLogical {
  file: string;
  rules: AclRule[];
  hits: number[];
  misses: number;
}

/** What a not-IPv4 packet's `rule` is set to after the match, so one loop sorts every packet. */
const NOT_IPV4 = -2;

const COUNTERS = ['count', 'allowed', 'denied', 'unmatched', 'not_ipv4', 'drops'] as const;

/**
 * One batch's kernel columns. Scratch, reused batch after batch, but owned by one batch from
 * extraction until its run resolves: an offloaded run reads its inputs and writes `rule` later,
 * while the next batches fill other sets (the element keeps a pool, one set per batch in flight).
 */
class AclColumns {
  private readonly srcCol = new ScratchInt32();
  private readonly dstCol = new ScratchInt32();
  private readonly portsCol = new ScratchInt32();
  private readonly protoCol = new ScratchInt32();
  private readonly ruleCol = new ScratchInt32();
  private readonly badCol = new ScratchInt32();
  /** Indices of the packets without an IPv4 header (the first `nbad` of `bad`). */
  bad: Int32Array = new Int32Array(0);
  nbad = 0;
  readonly io: AclMatchIo = { count: 0, inputs: { src: this.bad, dst: this.bad, ports: this.bad, proto: this.bad }, outputs: { rule: this.bad } };

  /** The io for `n` packets (stale contents: extraction writes every input item, the kernel every output). */
  fill(n: number): AclMatchIo {
    const io = this.io;
    io.count = n;
    io.inputs.src = this.srcCol.get(n);
    io.inputs.dst = this.dstCol.get(n);
    io.inputs.ports = this.portsCol.get(n);
    io.inputs.proto = this.protoCol.get(n);
    io.outputs.rule = this.ruleCol.get(n);
    this.bad = this.badCol.get(n);
    this.nbad = 0;
    return io;
  }
}

function ruleSet(rules: readonly AclRule[], file: string, generation: number): AclRuleSet {
  const image = aclImage(rules);
  const deny = new Uint8Array(rules.length);
  rules.forEach((r, i) => (deny[i] = r.action === 'deny' ? 1 : 0));
  return { file, rules, image, words: new Int32Array(image.buffer, image.byteOffset, image.length), deny, hits: new Float64Array(rules.length), misses: 0, generation };
}

export class ACL extends Element<ACLConfig> {
  static readonly className = 'ACL';
  static readonly ports = { inputs: '1', outputs: '1-2' };
  /** Kernels it runs and state it owns (planner, migration). */
  static readonly declares: ElementDeclaration = {
    kernels: [ACL_MATCH],
    state: [
      { kind: 'structure', name: 'acl', structure: ACL_RULES_V4, doc: 'the rules in order, their image and hit counts' },
      { kind: 'counters', name: 'counters', counters: COUNTERS, doc: 'packets classified, allowed, denied, unmatched, without an IPv4 header, dropped' },
    ],
  };
  static readonly manual = `ACL(RULES file, [DEFAULT allow|deny, OFFSET n, BACKEND b, IN_FLIGHT n])

Ports: 1 input, 1 or 2 outputs.

An IPv4 access-control list in first-match order (iptables, DPDK rte_acl): the first rule of
the RULES file that matches a packet decides. allow: output 0; deny: output 1 when it is
connected, else the packet is dropped and counted (drop reason \`denied\`). A packet no rule
matches takes DEFAULT. The match is the \`acl-match\` kernel, so it runs on any backend that
has a form (cpu inline by default; BACKEND webgpu or null through the offload runner, the
rules resident there, with visible CPU fallback). Each batch is classified with the rules
as they were when it started, whatever a reload does while it is on a device.

The fields are read from the IPv4 header at OFFSET: source, destination, the protocol number
(every protocol's own), and the ports (sport << 16 | dport) of TCP and UDP packets that hold
them and are not later fragments (a first fragment carries its ports). Every other packet
carries ports 0, which a rule's port ranges are held against, as rte_acl does. A packet that
is not IPv4 or has fewer than 20 bytes from OFFSET takes DEFAULT and is counted (\`not_ipv4\`).

The rule file is ClassBench's filter format, as DPDK's l3fwd-acl and test-acl read it: one
rule a line, \`@SRC/LEN DST/LEN SPORT_LO : SPORT_HI DPORT_LO : DPORT_HI PROTO/MASK [allow|deny]\`
(no action: deny; \`#\` starts a comment), e.g.
\`@10.0.0.0/8 0.0.0.0/0 0 : 65535 80 : 80 0x06/0xFF allow\`. A bad rule is an error naming its
file:line:column.

Keywords:
  RULES      the rule file, relative to the configuration's directory.
  DEFAULT    allow (default) or deny: what packets no rule matches, and packets without an
             IPv4 header, get.
  OFFSET     where the IPv4 header starts in the packet (default 0: after Strip(14)); 14 for
             Ethernet frames.
  BACKEND    cpu (default), webgpu or null (gpujs and fpga have no acl-match form yet: the
             kernel falls back to cpu, visibly); IN_FLIGHT batches in flight (default 3).

Handlers:
  count (read)        packets classified (allowed + denied)
  allowed (read)      packets allowed (output 0)
  denied (read)       packets denied (output 1, or dropped)
  unmatched (read)    IPv4 packets no rule matched (DEFAULT decided)
  not_ipv4 (read)     packets that were not IPv4 or too short (DEFAULT decided)
  drops (read)        packets dropped (denied without a second output)
  rules (read)        the rules in order, one a line in the file format
  hits (read)         \`INDEX LINE HITS\` for each rule that matched since the rules were loaded
                      (INDEX from 0, LINE the rule's line in its file), then \`default N\`: the
                      IPv4 packets no rule matched since then
  reload (write)      read the rules again from a file (empty: RULES; relative to the
                      configuration's directory). A bad file is refused with its
                      file:line:column and the old rules stay. Batches started before keep the
                      old rules, later ones (on a backend too) get the new; hits start over.
  backend, backend_requested, backend_device, backend_fallback (read)   where the kernel runs
  kernel_stats (read)  runs per (kernel, backend, variant): batches, items, host time, device figures
                       (inline cpu runs are timed on 1 batch in 16, the others' host time
                       estimated at the timed mean per item)`;

  /** Arguments: what parseConfig reads, and what the manual's signature is checked against. */
  static readonly args: ArgSpec<ACLConfig> = {
    positional: ['RULES'],
    keywords: ['RULES', 'DEFAULT', 'OFFSET', 'BACKEND', 'IN_FLIGHT'],
    schema: z.object({
      RULES: z.string().min(1),
      DEFAULT: z.enum(['allow', 'deny']).default('allow'),
      OFFSET: arg.int(0, 65535).default(0),
      BACKEND: backendNameSchema.optional(),
      IN_FLIGHT: arg.int(1, 64).default(3),
    }),
  };

  static parseConfig(args: ConfigArgs): ACLConfig {
    return parseArgs(args, ACL.args);
  }

  /** The rules batches start with now (replaced whole by a reload or a state import). */
  private current: AclRuleSet;
  private runner: OffloadRunner | null = null;
  /** Column sets free for the next batch (one is taken per batch until it is classified). */
  private readonly freeColumns: AclColumns[] = [];
  /** Output per packet, written and split synchronously after a batch's match: one serves every batch. */
  private readonly portColumn = new ScratchInt32();
  private classified = 0;
  private allowed = 0;
  private denied = 0;
  private unmatched = 0;
  private notIpv4 = 0;
  private dropped = 0;
  /** Every match run's stats, inline or offloaded (the kernel_stats handler). */
  private readonly kernelStats = new KernelStats();
  private inlineStats: KernelStatsEntry | null = null;
  /** Inline runs are timed on one batch in TIMING_SAMPLE_EVERY. */
  private readonly inlineTiming = new SampledKernelTiming();

  constructor(init: ElementInit<ACLConfig>) {
    super(init);
    const file = this.resolve(init.config.RULES);
    try {
      this.current = ruleSet(loadAclRules(file), file, 0);
    } catch (e) {
      // AclRuleError names the file (and line:column); the element adds its own name.
      if (e instanceof AclRuleError) throw new ElementInputError(this.name, e.message);
      throw e;
    }
  }

  private resolve(file: string): string {
    return path.resolve(this.env.baseDir, file);
  }

  /** The ACL's current image (the planner reads its size; migration copies it). */
  override structureImage(name: string): Uint32Array | undefined {
    return name === 'acl' ? this.current.image : undefined;
  }

  override async initialize(): Promise<void> {
    const runner = await openElementOffload(this, ACL_MATCH, this.config.BACKEND, this.config.IN_FLIGHT, this.kernelStats);
    if (runner === null) return;
    const loaded = this.current;
    await runner.addStructure(ACL_RULES_V4, loaded.image, loaded.generation);
    this.runner = runner;
    this.concurrency = this.config.IN_FLIGHT;
    // Rules replaced while the structure was loading reach the backend now, before any batch.
    if (this.current !== loaded) this.forward(aclReplaceDelta(this.current.image, loaded.generation));
  }

  override async cleanup(): Promise<void> {
    await this.runner?.close();
    this.runner = null;
  }

  process(batch: PacketBatch): ElementOutput | Promise<ElementOutput> {
    const n = batch.count;
    // The rules as of the batch's start: the set's actions and hits stay this batch's whatever a reload does.
    const set = this.current;
    const cols = this.freeColumns.pop() ?? new AclColumns();
    const io = cols.fill(n);
    this.extract(batch, cols);
    const runner = this.runner;
    if (runner === null) {
      // Without a backend: the cpu backend's form function itself, on the element's own image.
      const t0 = this.inlineTiming.begin(false);
      aclMatchCpu(set.words, io);
      this.inlineTiming.end((this.inlineStats ??= this.kernelStats.entry(ACL_MATCH, 'cpu')), n, t0);
      return this.decide(batch, set, cols);
    }
    // The runner orders the run after the deltas forwarded before it: the device holds `set`'s rules.
    return runner.run(io).then(
      () => this.decide(batch, set, cols),
      (e: unknown) => {
        this.freeColumns.push(cols);
        throw e;
      },
    );
  }

  /** The kernel's inputs per packet; packets without an IPv4 header get zeros and are listed in `cols.bad`. */
  private extract(batch: PacketBatch, cols: AclColumns): void {
    const { src, dst, ports, proto } = cols.io.inputs;
    const bad = cols.bad;
    let nbad = 0;
    const data = batch.data;
    const offset = batch.offset;
    const length = batch.length;
    const off = this.config.OFFSET;
    for (let i = 0; i < batch.count; i++) {
      const p = offset[i] + off;
      const len = length[i] - off;
      if (len < 20 || data[p] >> 4 !== 4) {
        src[i] = 0;
        dst[i] = 0;
        ports[i] = 0;
        proto[i] = 0;
        bad[nbad++] = i;
        continue;
      }
      src[i] = readBE32(data, p + 12);
      dst[i] = readBE32(data, p + 16);
      proto[i] = data[p + 9];
      ports[i] = transportPorts(data, p, len);
    }
    cols.nbad = nbad;
  }

  /** After the match: each packet's action (its rule's, or DEFAULT), the counters, the outputs. */
  private decide(batch: PacketBatch, set: AclRuleSet, cols: AclColumns): ElementOutput {
    const n = batch.count;
    const rule = cols.io.outputs.rule;
    const bad = cols.bad;
    for (let k = 0; k < cols.nbad; k++) rule[bad[k]] = NOT_IPV4;
    const nbad = cols.nbad;
    const ports = this.portColumn.get(n);
    const twoOutputs = this.noutputs >= 2;
    const denyPort = twoOutputs ? 1 : -1;
    const defaultDeny = this.config.DEFAULT === 'deny';
    const deny = set.deny;
    const hits = set.hits;
    const nrules = set.rules.length;
    let denied = 0;
    let unmatched = 0;
    for (let i = 0; i < n; i++) {
      const r = rule[i];
      let d: boolean;
      if (r >= 0 && r < nrules) {
        hits[r]++;
        d = deny[r] === 1;
      } else {
        // NO_RULE, or an index the rules do not have (a backend's bad answer): DEFAULT, counted as unmatched.
        if (r !== NOT_IPV4) unmatched++;
        d = defaultDeny;
      }
      if (d) {
        ports[i] = denyPort;
        denied++;
      } else ports[i] = 0;
    }
    this.freeColumns.push(cols);
    set.misses += unmatched;
    this.classified += n;
    this.allowed += n - denied;
    this.denied += denied;
    this.unmatched += unmatched;
    this.notIpv4 += nbad;
    if (!twoOutputs) {
      this.dropped += denied;
      this.ledger.drop('denied', denied);
    }
    return splitByPorts(batch, ports, denied, twoOutputs ? 2 : 1);
  }

  /** Make `rules` the rules of every batch from now on, on the backend too (a delta ordered after the batches started). */
  private install(rules: readonly AclRule[], file: string): AclRuleSet {
    const from = this.current;
    const set = ruleSet(rules, file, from.generation + 1);
    this.current = set;
    if (this.runner !== null) this.forward(aclReplaceDelta(set.image, from.generation));
    return set;
  }

  private forward(delta: ImageDelta): void {
    const runner = this.runner;
    if (runner === null) return;
    runner.applyDelta(0, delta).catch((e: unknown) => this.env.log.warn(`${this.name}: new rules not applied on ${runner.status().backend}: ${(e as Error).message}`));
  }

  private reload(value: string): void {
    const v = value.trim();
    const file = this.resolve(v === '' ? this.config.RULES : v);
    let rules: AclRule[];
    try {
      rules = loadAclRules(file);
    } catch (e) {
      if (e instanceof AclRuleError) throw new HandlerError(`reload: ${e.message}`);
      throw e;
    }
    this.install(rules, file);
  }

  private hitsText(): string {
    const set = this.current;
    let out = '';
    for (let i = 0; i < set.rules.length; i++) if (set.hits[i] > 0) out += `${i} ${set.rules[i].line} ${set.hits[i]}\n`;
    return `${out}default ${set.misses}\n`;
  }

  override handlers(): HandlerTable {
    return {
      count: counterHandler(() => this.classified, 'packets classified (allowed + denied)'),
      allowed: counterHandler(() => this.allowed, 'packets allowed (output 0)'),
      denied: counterHandler(() => this.denied, 'packets denied (output 1, or dropped)'),
      unmatched: counterHandler(() => this.unmatched, 'IPv4 packets no rule matched (DEFAULT decided)'),
      not_ipv4: counterHandler(() => this.notIpv4, 'packets not IPv4 or too short (DEFAULT decided)'),
      drops: counterHandler(() => this.dropped, 'packets dropped (denied without a second output)'),
      rules: { read: () => this.current.rules.map((r) => `${formatAclRule(r)}\n`).join(''), doc: 'the rules in order, in the file format' },
      hits: { read: () => this.hitsText(), doc: 'INDEX LINE HITS per rule that matched, then default N' },
      reload: { write: (v) => this.reload(v), doc: 'read the rules again from FILE (empty: RULES); a bad file changes nothing' },
      ...(this.runner?.handlers() ?? { backend: { read: () => 'cpu (inline)', doc: 'where the match runs' } }),
      kernel_stats: { read: () => this.kernelStats.text(), doc: 'per kernel and backend: batches, items, host ms, device figures' },
    };
  }

  /** Placement may differ between the exporting and the importing element (migration). */
  protected override stateConfigIgnores(): readonly string[] {
    return ['BACKEND', 'IN_FLIGHT'];
  }

  private counterValues(): Record<(typeof COUNTERS)[number], number> {
    return { count: this.classified, allowed: this.allowed, denied: this.denied, unmatched: this.unmatched, not_ipv4: this.notIpv4, drops: this.dropped };
  }

  /** The rules (logical form, image, hit counts) and the counters. */
  override exportState(): ElementState {
    const set = this.current;
    const logical: AclLogical = { file: set.file, rules: set.rules.map((r) => ({ ...r })), hits: Array.from(set.hits), misses: set.misses };
    return this.stateHeader({
      acl: { kind: 'structure', structure: ACL_RULES_V4, generation: set.generation, image: set.image.slice(), logical },
      counters: { kind: 'counters', values: this.counterValues() },
    });
  }

  /** Takes over another ACL's rules (a delta to a resident image, like a reload), hit counts and counters. */
  override importState(state: ElementState): void {
    const counters = this.importCounters(state);
    const part = statePart(this.name, state, 'acl', 'structure');
    if (part.structure !== ACL_RULES_V4) throw new StateError(this.name, `structure is ${part.structure}, expected ${ACL_RULES_V4}`);
    const logical = part.logical as AclLogical | null;
    if (logical === null || !Array.isArray(logical.rules)) throw new StateError(this.name, 'the acl part has no rules');
    const image = aclImage(logical.rules);
    if (image.length !== part.image.length || image.some((w, i) => w !== part.image[i])) throw new StateError(this.name, 'the acl image does not match its rules');
    const set = this.install(logical.rules, logical.file);
    if (Array.isArray(logical.hits) && logical.hits.length === set.hits.length) set.hits.set(logical.hits);
    set.misses = logical.misses ?? 0;
    this.classified = counters.count;
    this.allowed = counters.allowed;
    this.denied = counters.denied;
    this.unmatched = counters.unmatched;
    this.notIpv4 = counters.not_ipv4;
    this.dropped = counters.drops;
  }

  override summary(): Record<string, number | string> {
    return { ...this.counterValues(), rules: this.current.rules.length, ...(this.runner?.summary() ?? {}) };
  }
}
