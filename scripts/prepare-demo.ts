/**
 * The demo's input (`npm run setup` runs this): examples/data/input.pcap is the shared
 * example.pcap (4,631 real Ethernet/IPv4 packets) when ../shared/data is beside the project,
 * otherwise a generated capture of the same shape (Ethernet/IPv4/UDP, valid checksums,
 * destinations spread over the demo's routes). Which one was used is printed.
 */
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PacketBatch } from '../core/packet-batch.js';
import { PcapWriter } from '../core/pcap/pcap-writer.js';
import { setIPv4HeaderChecksum } from '../core/net/ip-checksum.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = path.join(root, 'examples', 'data');
const input = path.join(dataDir, 'input.pcap');
const shared = path.join(root, '..', 'shared', 'data', 'pcaps', 'pcapplusplus', 'example.pcap');

/** Destinations drawn from the demo's routes (LAN, specific uplink routes, default). */
const DESTINATIONS = ['10.0.0.6', '10.0.0.138', '212.199.202.9', '146.185.23.162', '31.13.72.49', '173.194.70.155', '8.8.8.8', '93.184.216.34'].map((a) =>
  a.split('.').reduce((v, o) => v * 256 + Number(o), 0),
);

function generate(file: string, packets: number): void {
  const size = 14 + 20 + 8 + 32;
  const b = new PacketBatch({ seq: 0, capacity: packets, data: new Uint8Array(packets * (size + 16)), linkType: 1 });
  const d = b.data;
  let seed = 12345;
  const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8);
  for (let i = 0; i < packets; i++) {
    const base = i * (size + 16);
    const p = base + 16;
    d.set([0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x5c, 0x00, 0x1b, 0x21, 0x01, 0x02, 0x03, 0x08, 0x00], p);
    const ip = p + 14;
    const dst = DESTINATIONS[rand() % DESTINATIONS.length];
    const ttl = i % 97 === 0 ? 1 : 64 - (rand() % 8);
    d.set([0x45, 0, 0, 20 + 8 + 32, (i >> 8) & 255, i & 255, 0x40, 0, ttl, 17, 0, 0, 10, 0, 0, 6, dst >>> 24, (dst >>> 16) & 255, (dst >>> 8) & 255, dst & 255], ip);
    setIPv4HeaderChecksum(d, ip);
    d.set([0x9c, 0x40, 0x00, 0x35, 0, 40, 0, 0], ip + 20);
    b.id[i] = i;
    b.base[i] = base;
    b.offset[i] = p;
    b.length[i] = size;
    b.wireLength[i] = size;
    b.tsSec[i] = 1_700_000_000 + Math.floor(i / 1000);
    b.tsNsec[i] = (i % 1000) * 1_000_000;
  }
  b.count = packets;
  const w = PcapWriter.open(file);
  w.writeBatch(b);
  w.close();
}

mkdirSync(dataDir, { recursive: true });
if (existsSync(shared)) {
  copyFileSync(shared, input);
  process.stdout.write(`demo input: ${path.relative(root, input)} = ../shared/data/pcaps/pcapplusplus/example.pcap (4631 real packets)\n`);
} else {
  generate(input, 5000);
  process.stdout.write(`demo input: ${path.relative(root, input)} generated (5000 Ethernet/IPv4/UDP packets; ../shared/data not found)\n`);
}
