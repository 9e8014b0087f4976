/*
 * DIR-24-8 in C with DPDK rte_lpm's layout and lookup: the native baseline of the multi-FIB
 * CPU lookup (bench/dir-24-8-c.ts builds this with gcc -O3 into .cache/ and runs it).
 *
 * tbl24: one 32-bit entry per /24: bits 0..23 next hop (or tbl8 group), bit 24 valid,
 * bit 25 valid_group (the entry names a tbl8 group of 256 entries), bits 26..31 depth.
 * Built by painting routes in ascending length order (as bench/dir-24-8.ts); single FIB.
 *
 * usage: dir-24-8 ROUTES ADDRS OUT BATCH REPS
 *   ROUTES  u32 count, then count prefixes (u32), count lengths (u32), count next hops (u32)
 *   ADDRS   u32 n, then n addresses (u32)
 *   OUT     written: n answers (i32, -1 for no route) of the last run
 * prints one JSON line: build ms, each run's ms, the table's bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VALID 0x01000000u
#define VALID_GROUP 0x02000000u
#define VALID_EXT (VALID | VALID_GROUP)

static uint32_t *tbl24;
static uint32_t *tbl8;
static uint32_t groups, group_cap;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static uint32_t *read_file(const char *path, uint32_t *words) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint32_t *w = malloc(size);
  if (fread(w, 1, size, f) != (size_t)size) { perror(path); exit(2); }
  fclose(f);
  *words = size / 4;
  return w;
}

static uint32_t new_group(uint32_t fill) {
  if (groups == group_cap) {
    group_cap = group_cap ? group_cap * 2 : 256;
    tbl8 = realloc(tbl8, (size_t)group_cap * 256 * 4);
  }
  for (int i = 0; i < 256; i++) tbl8[groups * 256 + i] = fill;
  return groups++;
}

static void add(uint32_t p, uint32_t len, uint32_t nh) {
  uint32_t e = (nh & 0xffffff) | VALID | (len << 26);
  if (len <= 24) {
    uint32_t start = p >> 8, end = start + (1u << (24 - len));
    for (uint32_t s = start; s < end; s++) {
      uint32_t t = tbl24[s];
      if ((t & VALID_EXT) == VALID_EXT) {
        uint32_t *g = tbl8 + (t & 0xffffff) * 256;
        for (int i = 0; i < 256; i++) g[i] = e;
      } else tbl24[s] = e;
    }
  } else {
    uint32_t s = p >> 8, t = tbl24[s];
    if ((t & VALID_EXT) != VALID_EXT) {
      uint32_t g = new_group(t);
      tbl24[s] = t = g | VALID_EXT;
    }
    uint32_t *g = tbl8 + (t & 0xffffff) * 256;
    for (uint32_t i = p & 255; i < (p & 255) + (1u << (32 - len)); i++) g[i] = e;
  }
}

/* rte_lpm_lookup, one address at a time over the batch (what rte_lpm_lookup_bulk does). */
static void lookup_bulk(const uint32_t *ips, int32_t *out, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    uint32_t ip = ips[i];
    uint32_t e = tbl24[ip >> 8];
    if ((e & VALID_EXT) == VALID_EXT) e = tbl8[(e & 0xffffff) * 256 + (ip & 255)];
    out[i] = (e & VALID) ? (int32_t)(e & 0xffffff) : -1;
  }
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: %s ROUTES ADDRS OUT BATCH REPS\n", argv[0]); return 2; }
  uint32_t rw, aw;
  uint32_t *routes = read_file(argv[1], &rw);
  uint32_t *addrs = read_file(argv[2], &aw);
  uint32_t count = routes[0], n = addrs[0];
  if (rw != 1 + 3 * count || aw != 1 + n) { fprintf(stderr, "bad input sizes\n"); return 2; }
  uint32_t batch = atoi(argv[4]), reps = atoi(argv[5]);
  const uint32_t *prefix = routes + 1, *len = prefix + count, *nh = len + count;

  double t0 = now_ms();
  tbl24 = calloc(1u << 24, 4);
  /* Paint in ascending length order: one pass per length. */
  for (uint32_t l = 0; l <= 32; l++)
    for (uint32_t i = 0; i < count; i++)
      if (len[i] == l) add(prefix[i] & (l == 0 ? 0 : 0xffffffffu << (32 - l)), l, nh[i]);
  double build = now_ms() - t0;

  int32_t *out = malloc((size_t)n * 4);
  printf("{\"buildMs\":%.3f,\"bytes\":%llu,\"runsMs\":[", build, (unsigned long long)(1u << 24) * 4 + (unsigned long long)groups * 1024);
  for (uint32_t r = 0; r < reps; r++) {
    double s = now_ms();
    for (uint32_t o = 0; o < n; o += batch) lookup_bulk(addrs + 1 + o, out + o, n - o < batch ? n - o : batch);
    printf("%s%.4f", r ? "," : "", now_ms() - s);
  }
  printf("]}\n");
  FILE *f = fopen(argv[3], "wb");
  if (!f || fwrite(out, 4, n, f) != n) { perror(argv[3]); return 2; }
  fclose(f);
  return 0;
}
