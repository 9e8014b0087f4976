/**
 * Costs of a real GPU for the null backend: a data-center GPU over PCIe 4.0 x16, per batch of
 * lookups. For the planner bench's second half and the planner's tests: what a plan and a
 * measured run look like where offload should win.
 *  - perBatchNs 15 µs: a kernel launch plus the synchronisation that hands a batch's results
 *    back, the ~10-20 µs per batch round trip PacketShader (Han et al., SIGCOMM 2010) and NBA
 *    (Kim et al., EuroSys 2015) account for their GPU offloads;
 *  - perItemNs 0.25: a longest-prefix match is a few dependent memory reads; PacketShader's
 *    2010 GTX 480 already did tens of millions of IPv4 lookups a second per card, and a current
 *    data-center GPU's memory system does billions of random reads a second;
 *  - perByteTransferNs 0.05: PCIe 4.0 x16 carries ~20-25 GB/s in practice (32 GB/s raw), about
 *    0.05 ns a byte each way;
 *  - capacityBytes 16 GiB of device memory.
 * Orders of magnitude, not a measurement: the bench prints them beside every figure it reports.
 */
export const MODELLED_DATA_CENTER_GPU = {
  perBatchNs: 15_000,
  perItemNs: 0.25,
  perByteTransferNs: 0.05,
  capacityBytes: 16 * 2 ** 30,
} as const;
