/**
 * Every element class the config language knows, by Click class name and alias.
 * Add a class here when its file lands.
 */
import { eraseConfigType, type ElementClass } from '../core/element.js';
import type { ElementClassLookup } from '../core/graph.js';
import { ACL } from './acl.js';
import { CheckIPHeader } from './check-ip-header.js';
import { Classifier } from './classifier.js';
import { Counter } from './counter.js';
import { DecIPTTL } from './dec-ip-ttl.js';
import { Discard } from './discard.js';
import { EtherEncap } from './ether-encap.js';
import { FlowHash } from './flow-hash.js';
import { FromDevice } from './from-device.js';
import { FlowIPLoadBalancer } from './flow-ip-load-balancer.js';
import { FlowIPManager } from './flow-ip-manager.js';
import { FromDump } from './from-dump.js';
import { Idle } from './idle.js';
import { IPLookup } from './ip-lookup.js';
import { IPReassembler } from './ip-reassembler.js';
import { IPRewriter } from './ip-rewriter.js';
import { Paint } from './paint.js';
import { Print } from './print.js';
import { Queue } from './queue.js';
import { Strip } from './strip.js';
import { Tee } from './tee.js';
import { ToDevice } from './to-device.js';
import { ToDump } from './to-dump.js';
import { Unstrip } from './unstrip.js';

const entry = eraseConfigType;

export const elementClasses: readonly ElementClass<unknown>[] = [
  entry(ACL),
  entry(CheckIPHeader),
  entry(Classifier),
  entry(Counter),
  entry(DecIPTTL),
  entry(Discard),
  entry(EtherEncap),
  entry(FlowHash),
  entry(FromDevice),
  entry(FlowIPLoadBalancer),
  entry(FlowIPManager),
  entry(FromDump),
  entry(Idle),
  entry(IPLookup),
  entry(IPReassembler),
  entry(IPRewriter),
  entry(Paint),
  entry(Print),
  entry(Queue),
  entry(Strip),
  entry(Tee),
  entry(ToDevice),
  entry(ToDump),
  entry(Unstrip),
];

export function findElementClass(name: string): ElementClass<unknown> | undefined {
  return elementClasses.find((c) => c.className === name || (c.aliases ?? []).includes(name));
}

export const elementLibrary: ElementClassLookup = {
  find: findElementClass,
  names: () => elementClasses.flatMap((c) => [c.className, ...(c.aliases ?? [])]),
};
