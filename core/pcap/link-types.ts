/**
 * pcap LINKTYPE_* values hetbox reads and writes, their names, and where the network-layer
 * header starts for each. The numbers are the tcpdump.org registry's, which both classic
 * pcap's header and pcapng's interface blocks use.
 */

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
/** Raw IPv4/IPv6, no link header. 12 and 14 are old platform DLT_RAW values seen in files. */
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const NAMES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_NULL, 'null'],
  [LINKTYPE_ETHERNET, 'ethernet'],
  [LINKTYPE_RAW, 'raw'],
  [LINKTYPE_LINUX_SLL, 'linux-sll'],
  [LINKTYPE_IPV4, 'ipv4'],
  [LINKTYPE_IPV6, 'ipv6'],
  [LINKTYPE_LINUX_SLL2, 'linux-sll2'],
]);

/** Click's ToDump ENCAP names for the same types. */
const ALIASES: ReadonlyMap<string, number> = new Map([
  ['ether', LINKTYPE_ETHERNET],
  ['ethernet', LINKTYPE_ETHERNET],
  ['ip', LINKTYPE_RAW],
  ['raw', LINKTYPE_RAW],
  ['rawip', LINKTYPE_RAW],
  ['sll', LINKTYPE_LINUX_SLL],
  ['linux-sll', LINKTYPE_LINUX_SLL],
  ['sll2', LINKTYPE_LINUX_SLL2],
  ['linux-sll2', LINKTYPE_LINUX_SLL2],
  ['null', LINKTYPE_NULL],
  ['ipv4', LINKTYPE_IPV4],
  ['ipv6', LINKTYPE_IPV6],
]);

/** The link type as hetbox carries it: the legacy raw-IP numbers 12 and 14 become 101. */
export function normalizeLinkType(linkType: number): number {
  return linkType === 12 || linkType === 14 ? LINKTYPE_RAW : linkType;
}

/** A readable name (`ethernet`, `raw`, `linux-sll`), or `linktype-N` for others. */
export function linkTypeName(linkType: number): string {
  return NAMES.get(linkType) ?? `linktype-${linkType}`;
}

/** Parse a link type given by name (Click ENCAP style, case-insensitive) or number; null if unknown. */
export function parseLinkType(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n <= 0xffff ? normalizeLinkType(n) : null;
  }
  return ALIASES.get(t) ?? null;
}

/**
 * Offset of the network-layer header from the packet's first byte, or -1 when the link type is
 * not one hetbox decodes. Fixed-size headers only: Ethernet VLAN tags are the caller's business.
 */
export function linkHeaderLength(linkType: number): number {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return 14;
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6:
      return 0;
    case LINKTYPE_LINUX_SLL:
      return 16;
    case LINKTYPE_LINUX_SLL2:
      return 20;
    case LINKTYPE_NULL:
      return 4;
    default:
      return -1;
  }
}

/**
 * The EtherType of the packet at `data[off..off+len)` for link types that carry one
 * (Ethernet, SLL, SLL2; raw IP answers 0x0800/0x86dd from the version nibble), or -1.
 */
export function linkEtherType(linkType: number, data: Uint8Array, off: number, len: number): number {
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      return len >= 14 ? (data[off + 12] << 8) | data[off + 13] : -1;
    case LINKTYPE_LINUX_SLL:
      return len >= 16 ? (data[off + 14] << 8) | data[off + 15] : -1;
    case LINKTYPE_LINUX_SLL2:
      return len >= 20 ? (data[off] << 8) | data[off + 1] : -1;
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6: {
      if (len < 1) return -1;
      const v = data[off] >> 4;
      return v === 4 ? 0x0800 : v === 6 ? 0x86dd : -1;
    }
    default:
      return -1;
  }
}
