// The simulator process of kernel ip-lookup's fpga form: ip_lookup (Verilator model) driven over a binary
// protocol on stdio. The LOOKUP frame carries the ip-lookup contract's columns in contract order
// (inputs dst, vrf; output nextHop), as backends/fpga/kernels/ip-lookup.ts sends them.
//
// Frames, both ways, are little-endian u32 words: [byte length of the rest][type][id][payload].
//   INFO    (1)  -> INFO   : aw, mem_lat, rec_steps, tag_width, stages, latency
//   WRITE   (2)  offset, count, words[count]          -> ACK when the last word went through the write port
//   LOOKUP  (3)  count, dst[count], vrf[count]         -> RESULT: count, cycles (u64: first request
//                accepted to last result delivered, count + latency unstalled), issue_cycles,
//                min_latency, max_latency, faults, first_fault, next_hop[count] (i32, -1 = no route)
//   READ    (4)  offset, count                         -> DATA: count, words (after pending writes drained)
//   CONFIG  (5)  stall_permille, gap_permille, seed    -> ACK (random back-pressure on the result side,
//                random bubbles on the request side)
//   ERROR   (15) reply to a frame it cannot take: message text
// Lookups and writes share simulated time: while batches flow, queued writes take the write port
// one word per cycle, which is how a delta lands while lookups run. New frames are read between
// cycles, so several batches can be queued (in flight) at once.
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "Vip_lookup.h"
#include "Vip_lookup___024root.h"
#include "verilated.h"

#ifndef HB_AW
#error HB_AW must be defined (memory address bits)
#endif
#ifndef HB_MEM_LAT
#error HB_MEM_LAT must be defined
#endif
#ifndef HB_SHARED_MEM
#error HB_SHARED_MEM must be defined
#endif
#ifndef HB_REC_STEPS
#error HB_REC_STEPS must be defined
#endif

namespace {

#include "harness_frames.h"

constexpr uint32_t NO_ROUTE = 0x3fffffff;
constexpr uint64_t MEM_WORDS = uint64_t(1) << HB_AW;
constexpr uint32_t STAGES = 6 + HB_REC_STEPS;
constexpr uint32_t LATENCY = STAGES * HB_MEM_LAT;

struct WriteJob {
  uint32_t id;
  uint32_t offset;
  std::vector<uint32_t> words;
  size_t pos = 0;
};

struct Batch {
  uint32_t id;
  std::vector<uint32_t> dst, vrf;
  std::vector<int32_t> out;
  size_t issued = 0, done = 0;
  uint64_t first_issue = 0, last_issue = 0, last_done = 0;
  uint32_t min_lat = UINT32_MAX, max_lat = 0, faults = 0, first_fault = UINT32_MAX;
};

std::unique_ptr<VerilatedContext> ctx;
std::unique_ptr<Vip_lookup> top;
uint64_t cycle = 0;
std::deque<WriteJob> writes;
std::deque<Batch> batches;
size_t issue_batch = 0;  // index in `batches` of the first batch with items left to issue
uint32_t next_tag = 0, expect_tag = 0;
std::vector<uint64_t> accept_cycle(TAG_MASK + 1);









void ack(uint32_t type, uint32_t id) {
  size_t at = begin_frame(type, id);
  put(uint32_t(cycle));
  put(uint32_t(cycle >> 32));
  end_frame(at);
}

// One clock: drive the ports, sample the handshakes before the edge, then clock.
void step() {
  WriteJob* wj = writes.empty() ? nullptr : &writes.front();
  top->wr_en = wj != nullptr;
  if (wj) {
    top->wr_addr = wj->offset + uint32_t(wj->pos);
    top->wr_data = wj->words[wj->pos];
  }
  Batch* ib = issue_batch < batches.size() ? &batches[issue_batch] : nullptr;
  bool present = ib != nullptr && !(gap_permille && rand_permille() < gap_permille);
  top->in_valid = present;
  if (present) {
    top->in_tag = next_tag & TAG_MASK;
    top->in_addr = ib->dst[ib->issued];
    top->in_fib = ib->vrf[ib->issued];
  }
  top->out_ready = !(stall_permille && rand_permille() < stall_permille);
  top->clk = 0;
  top->eval();
  bool accepted = present && top->in_ready;
  bool delivered = top->out_valid && top->out_ready;
  uint32_t out_tag = top->out_tag, out_entry = top->out_entry;
  bool out_fault = top->out_fault;
  top->clk = 1;
  top->eval();
  cycle++;

  if (wj && ++wj->pos == wj->words.size()) {
    ack(T_WRITE, wj->id);
    writes.pop_front();
  }
  if (accepted) {
    if (ib->issued == 0) ib->first_issue = cycle;
    ib->last_issue = cycle;
    accept_cycle[next_tag & TAG_MASK] = cycle;
    next_tag++;
    if (++ib->issued == ib->dst.size()) issue_batch++;
  }
  if (delivered) {
    if (batches.empty() || batches.front().done >= batches.front().issued) die("result with no request in flight");
    if (out_tag != (expect_tag & TAG_MASK)) die("result tag " + std::to_string(out_tag) + " where " + std::to_string(expect_tag & TAG_MASK) + " was due");
    Batch& b = batches.front();
    uint32_t lat = uint32_t(cycle - 1 - accept_cycle[out_tag]);
    if (lat < b.min_lat) b.min_lat = lat;
    if (lat > b.max_lat) b.max_lat = lat;
    if (out_fault) {
      if (b.faults++ == 0) b.first_fault = uint32_t(b.done);
      b.out[b.done] = -2;
    } else {
      b.out[b.done] = out_entry == NO_ROUTE ? -1 : int32_t(out_entry);
    }
    expect_tag++;
    if (++b.done == b.dst.size()) {
      b.last_done = cycle;
      size_t at = begin_frame(T_LOOKUP, b.id);
      uint64_t span = b.last_done - b.first_issue;
      put(uint32_t(b.dst.size()));
      put(uint32_t(span));
      put(uint32_t(span >> 32));
      put(uint32_t(b.last_issue - b.first_issue + 1));
      put(b.min_lat);
      put(b.max_lat);
      put(b.faults);
      put(b.first_fault);
      for (int32_t v : b.out) put(uint32_t(v));
      end_frame(at);
      batches.pop_front();
      issue_batch--;
      flush_out();
    }
  }
}

bool busy() { return !writes.empty() || !batches.empty(); }

void reply_empty_lookup(uint32_t id) {
  size_t at = begin_frame(T_LOOKUP, id);
  for (int i = 0; i < 7; i++) put(0);
  put(UINT32_MAX);
  end_frame(at);
}


void handle(uint32_t type, uint32_t id, const uint8_t* p, size_t n) {
  size_t words = n / 4;
  auto need = [&](size_t k) {
    if (words < k) {
      reply_error(id, "frame too short");
      return false;
    }
    return true;
  };
  switch (type) {
    case T_INFO: {
      size_t at = begin_frame(T_INFO, id);
      put(HB_AW);
      put(HB_MEM_LAT);
      put(HB_REC_STEPS);
      put(16);
      put(STAGES);
      put(LATENCY);
      end_frame(at);
      break;
    }
    case T_WRITE: {
      if (!need(2)) return;
      uint32_t off = word_at(p), count = word_at(p + 4);
      if (words != 2 + size_t(count)) return reply_error(id, "WRITE length does not match its count");
      if (uint64_t(off) + count > MEM_WORDS)
        return reply_error(id, "WRITE past the memory: words " + std::to_string(off) + ".." + std::to_string(uint64_t(off) + count) + " of " + std::to_string(MEM_WORDS));
      if (count == 0) return ack(T_WRITE, id);
      WriteJob j{id, off, std::vector<uint32_t>(count)};
      std::memcpy(j.words.data(), p + 8, size_t(count) * 4);
      writes.push_back(std::move(j));
      break;
    }
    case T_LOOKUP: {
      if (!need(1)) return;
      uint32_t count = word_at(p);
      if (words != 1 + 2 * size_t(count)) return reply_error(id, "LOOKUP length does not match its count");
      if (count == 0) return reply_empty_lookup(id);
      Batch b;
      b.id = id;
      b.dst.resize(count);
      b.vrf.resize(count);
      b.out.assign(count, 0);
      std::memcpy(b.dst.data(), p + 4, size_t(count) * 4);
      std::memcpy(b.vrf.data(), p + 4 + size_t(count) * 4, size_t(count) * 4);
      batches.push_back(std::move(b));
      break;
    }
    case T_READ: {
      if (!need(2)) return;
      uint32_t off = word_at(p), count = word_at(p + 4);
      if (uint64_t(off) + count > MEM_WORDS) return reply_error(id, "READ past the memory");
      // The image read back includes every write received before this frame.
      while (!writes.empty()) step();
#if HB_SHARED_MEM
      size_t at = begin_frame(T_READ, id);
      put(count);
      const auto& mem = top->rootp->ip_lookup__DOT__g_shared__DOT__mem;
      for (uint32_t i = 0; i < count; i++) put(mem[off + i]);
      end_frame(at);
#else
      reply_error(id, "reading the image back needs the shared-memory model (HB_SHARED_MEM=1)");
#endif
      break;
    }
    case T_CONFIG: {
      if (!need(3)) return;
      configure_backpressure(p);
      ack(T_CONFIG, id);
      break;
    }
    default:
      reply_error(id, "unknown frame type " + std::to_string(type));
  }
}


}  // namespace

int main(int argc, char** argv) {
  ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  top = std::make_unique<Vip_lookup>(ctx.get());
  top->rst = 1;
  top->in_valid = 0;
  top->out_ready = 1;
  top->wr_en = 0;
  for (int i = 0; i < 4; i++) {
    top->clk = 0;
    top->eval();
    top->clk = 1;
    top->eval();
  }
  top->rst = 0;
  serve();
  top->final();
  return 0;
}
