/**
 * Real data for calibration: a route table (as a multi-FIB image) and the IPv4 packets of a
 * capture, turned into the columns of each kernel (ip-lookup: the captured destinations;
 * flow-hash and acl-match: the captured addresses, ports and protocols), repeated to any batch
 * size.
 */
import type { KernelIo } from '../core/backend.js';
import { IP_LOOKUP } from '../core/kernels/ip-lookup/index.js';
import { FLOW_HASH } from '../core/kernels/flow-hash/index.js';
import { ACL_MATCH } from '../core/kernels/acl-match/index.js';
import { ACL_RULES_V4, aclImage } from '../core/structures/acl/acl-image.js';
import { loadAclRules } from '../core/structures/acl/acl-rules.js';
import { readBE32, transportPorts } from '../core/net/ipv4.js';
import { PcapReader } from '../core/pcap/pcap-reader.js';
import { LINKTYPE_ETHERNET, LINKTYPE_IPV4, LINKTYPE_LINUX_SLL, LINKTYPE_NULL, LINKTYPE_RAW } from '../core/pcap/link-types.js';
import { loadRouteFile } from '../core/routes/load-routes.js';
import { multiFibFromLoaded } from '../core/routes/build-multi-fib.js';
import { MULTI_FIB_V4 } from '../core/structures/multi-fib/image-format.js';
import type { KernelWorkload } from '../core/planner/calibration.js';

/** IPv4 header fields of a capture's packets, column by column. */
export interface CapturedTuples {
  file: string;
  src: Int32Array;
  dst: Int32Array;
  ports: Int32Array;
  proto: Int32Array;
}

/** Where the IP header starts for a link type, or null for link types calibration does not read. */
function ipOffset(linkType: number, data: Uint8Array, p: number, len: number): number | null {
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (len < 14) return null;
      let type = (data[p + 12] << 8) | data[p + 13];
      let off = 14;
      if (type === 0x8100 && len >= 18) {
        type = (data[p + 16] << 8) | data[p + 17];
        off = 18;
      }
      return type === 0x0800 ? off : null;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
      return 0;
    case LINKTYPE_LINUX_SLL:
      return len >= 16 && ((data[p + 14] << 8) | data[p + 15]) === 0x0800 ? 16 : null;
    case LINKTYPE_NULL:
      return 4;
    default:
      return null;
  }
}

/** The IPv4 packets' fields of a capture (the first `limit` of them), column by column. */
export function captureTuples(file: string, limit = 1 << 16): CapturedTuples {
  const reader = PcapReader.open(file);
  const src: number[] = [];
  const dst: number[] = [];
  const ports: number[] = [];
  const proto: number[] = [];
  try {
    for (let seq = 0; src.length < limit; seq++) {
      const batch = reader.nextBatch(seq, 4096);
      if (batch === null) break;
      const data = batch.data;
      for (let i = 0; i < batch.count && src.length < limit; i++) {
        const off = ipOffset(batch.linkType, data, batch.offset[i], batch.length[i]);
        if (off === null) continue;
        const p = batch.offset[i] + off;
        const len = batch.length[i] - off;
        if (len < 20 || data[p] >> 4 !== 4) continue;
        src.push(readBE32(data, p + 12));
        dst.push(readBE32(data, p + 16));
        // As the ACL element reads them: every protocol's own number, ports where there are some.
        proto.push(data[p + 9]);
        ports.push(transportPorts(data, p, len));
      }
      reader.release(seq);
    }
  } finally {
    reader.close();
  }
  if (src.length === 0) throw new Error(`${file}: no IPv4 packets to calibrate with`);
  return { file, src: Int32Array.from(src), dst: Int32Array.from(dst), ports: Int32Array.from(ports), proto: Int32Array.from(proto) };
}

/** `count` items taken round the captured column. */
function repeatTo(col: Int32Array, count: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i += col.length) out.set(col.subarray(0, Math.min(col.length, count - i)), i);
  return out;
}

export function ipLookupWorkload(routesFile: string, capture: CapturedTuples): KernelWorkload {
  const loaded = loadRouteFile(routesFile, { syntheticNextHops: 64 });
  const fib = multiFibFromLoaded([loaded]);
  return {
    kernel: IP_LOOKUP,
    data: `${routesFile} (${fib.fibNames()[0].routes} routes), destinations of ${capture.file}`,
    structures: [{ kind: MULTI_FIB_V4, image: fib.image.slice(), generation: fib.generation }],
    params: {},
    io: (count: number): KernelIo => ({ count, inputs: { dst: repeatTo(capture.dst, count), vrf: new Int32Array(count) }, outputs: { nextHop: new Int32Array(count) } }),
  };
}

export function flowHashWorkload(capture: CapturedTuples): KernelWorkload {
  return {
    kernel: FLOW_HASH,
    data: `IPv4 packets of ${capture.file}`,
    structures: [],
    params: {},
    io: (count: number): KernelIo => ({
      count,
      inputs: { src: repeatTo(capture.src, count), dst: repeatTo(capture.dst, count), ports: repeatTo(capture.ports, count), proto: repeatTo(capture.proto, count) },
      outputs: { flow: new Int32Array(count) },
    }),
  };
}

/**
 * acl-match over an ACL rule file and the capture's tuples: a linear first-match scan costs what
 * the rules and the traffic make it (how far each packet scans), so calibrate with the rules and
 * the traffic a configuration runs.
 */
export function aclMatchWorkload(rulesFile: string, capture: CapturedTuples): KernelWorkload {
  const rules = loadAclRules(rulesFile);
  const image = aclImage(rules);
  return {
    kernel: ACL_MATCH,
    data: `${rulesFile} (${rules.length} rules), IPv4 packets of ${capture.file}`,
    structures: [{ kind: ACL_RULES_V4, image, generation: 1 }],
    params: {},
    io: (count: number): KernelIo => ({
      count,
      inputs: { src: repeatTo(capture.src, count), dst: repeatTo(capture.dst, count), ports: repeatTo(capture.ports, count), proto: repeatTo(capture.proto, count) },
      outputs: { rule: new Int32Array(count) },
    }),
  };
}
