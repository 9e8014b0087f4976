// The simulator process of the flow kernels' fpga forms, built once per design: flow_lookup
// (HB_FLOW_LOOKUP, kernel flow-lookup, backends/fpga/kernels/flow-lookup.ts) or flow_hash
// (HB_FLOW_HASH, kernel flow-hash, backends/fpga/kernels/flow-hash.ts). Same framing and frame
// types as hwsim/harness/ip_lookup_harness.cpp; the LOOKUP frame carries the kernel contract's
// input columns in contract order and answers its output column:
//   INFO    (1)  -> INFO   : aw (0 for flow_hash), max_slots (0 for flow_hash), tag_width, stages, latency
//   WRITE   (2)  offset, count, words[count]       -> ACK (flow_lookup only)
//   LOOKUP  (3)  count, column 0[count], ..., column NIN-1[count]
//                flow_lookup: k0..k9 (NIN 10); flow_hash: src, dst, ports, proto (NIN 4)
//                -> RESULT: count, cycles (u64), issue_cycles, min_latency, max_latency, faults,
//                   first_fault, out[count] (flow_lookup: entry, -1 = miss; flow_hash: flow)
//   READ    (4)  offset, count                      -> DATA: count, words (flow_lookup only)
//   CONFIG  (5)  stall_permille, gap_permille, seed -> ACK (random back-pressure)
//   ERROR   (15) reply to a frame it cannot take: message text
// Lookups and writes share simulated time, as in the ip_lookup harness.
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

#include "verilated.h"

#if defined(HB_FLOW_LOOKUP)
#ifndef HB_SHARED_MEM
#error HB_SHARED_MEM must be defined for flow_lookup
#endif
#include "Vflow_lookup.h"
#include "Vflow_lookup___024root.h"
using Top = Vflow_lookup;
constexpr size_t NIN = 10;
constexpr uint32_t STAGES = 13 + 2 * HB_MAX_SLOTS;
constexpr uint64_t MEM_WORDS = uint64_t(1) << HB_AW;
constexpr uint32_t MISS = 0xffffffffu;
#elif defined(HB_FLOW_HASH)
#include "Vflow_hash.h"
using Top = Vflow_hash;
constexpr size_t NIN = 4;
constexpr uint32_t STAGES = 2;
#else
#error define HB_FLOW_LOOKUP or HB_FLOW_HASH
#endif

namespace {

#include "harness_frames.h"

// Cycles from a request's accept to its result: every stage registers once, the last into the result.
constexpr uint32_t LATENCY = STAGES - 1;

struct WriteJob {
  uint32_t id;
  uint32_t offset;
  std::vector<uint32_t> words;
  size_t pos = 0;
};

struct Batch {
  uint32_t id;
  size_t count = 0;
  std::vector<uint32_t> cols[NIN];
  std::vector<uint32_t> out;
  size_t issued = 0, done = 0;
  uint64_t first_issue = 0, last_issue = 0, last_done = 0;
  uint32_t min_lat = UINT32_MAX, max_lat = 0, faults = 0, first_fault = UINT32_MAX;
};

std::unique_ptr<VerilatedContext> ctx;
std::unique_ptr<Top> top;
uint64_t cycle = 0;
std::deque<WriteJob> writes;
std::deque<Batch> batches;
size_t issue_batch = 0;
uint32_t next_tag = 0, expect_tag = 0;
std::vector<uint64_t> accept_cycle(TAG_MASK + 1);









void ack(uint32_t type, uint32_t id) {
  size_t at = begin_frame(type, id);
  put(uint32_t(cycle));
  put(uint32_t(cycle >> 32));
  end_frame(at);
}

// The request ports from item `i` of batch `b`.
void drive(const Batch& b, size_t i) {
#if defined(HB_FLOW_LOOKUP)
  for (size_t w = 0; w < NIN; w++) top->in_key[w] = b.cols[w][i];
#else
  top->in_src = b.cols[0][i];
  top->in_dst = b.cols[1][i];
  top->in_ports = b.cols[2][i];
  top->in_proto = b.cols[3][i];
#endif
}

// One clock: drive the ports, sample the handshakes before the edge, then clock.
void step() {
#if defined(HB_FLOW_LOOKUP)
  WriteJob* wj = writes.empty() ? nullptr : &writes.front();
  top->wr_en = wj != nullptr;
  if (wj) {
    top->wr_addr = wj->offset + uint32_t(wj->pos);
    top->wr_data = wj->words[wj->pos];
  }
#endif
  Batch* ib = issue_batch < batches.size() ? &batches[issue_batch] : nullptr;
  bool present = ib != nullptr && !(gap_permille && rand_permille() < gap_permille);
  top->in_valid = present;
  if (present) {
    top->in_tag = next_tag & TAG_MASK;
    drive(*ib, ib->issued);
  }
  top->out_ready = !(stall_permille && rand_permille() < stall_permille);
  top->clk = 0;
  top->eval();
  bool accepted = present && top->in_ready;
  bool delivered = top->out_valid && top->out_ready;
  uint32_t out_tag = top->out_tag;
#if defined(HB_FLOW_LOOKUP)
  uint32_t out_value = top->out_entry;
  bool out_fault = top->out_fault;
#else
  uint32_t out_value = top->out_flow;
  bool out_fault = false;
#endif
  top->clk = 1;
  top->eval();
  cycle++;

#if defined(HB_FLOW_LOOKUP)
  if (wj && ++wj->pos == wj->words.size()) {
    ack(T_WRITE, wj->id);
    writes.pop_front();
  }
#endif
  if (accepted) {
    if (ib->issued == 0) ib->first_issue = cycle;
    ib->last_issue = cycle;
    accept_cycle[next_tag & TAG_MASK] = cycle;
    next_tag++;
    if (++ib->issued == ib->count) issue_batch++;
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
      b.out[b.done] = uint32_t(-2);
    } else {
      b.out[b.done] = out_value;
    }
    expect_tag++;
    if (++b.done == b.count) {
      b.last_done = cycle;
      size_t at = begin_frame(T_LOOKUP, b.id);
      uint64_t span = b.last_done - b.first_issue;
      put(uint32_t(b.count));
      put(uint32_t(span));
      put(uint32_t(span >> 32));
      put(uint32_t(b.last_issue - b.first_issue + 1));
      put(b.min_lat);
      put(b.max_lat);
      put(b.faults);
      put(b.first_fault);
      for (uint32_t v : b.out) put(v);
      end_frame(at);
      batches.pop_front();
      issue_batch--;
      flush_out();
    }
  }
}

bool busy() { return !writes.empty() || !batches.empty(); }


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
#if defined(HB_FLOW_LOOKUP)
      put(HB_AW);
      put(HB_MAX_SLOTS);
#else
      put(0);
      put(0);
#endif
      put(16);
      put(STAGES);
      put(LATENCY);
      end_frame(at);
      break;
    }
#if defined(HB_FLOW_LOOKUP)
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
    case T_READ: {
      if (!need(2)) return;
      uint32_t off = word_at(p), count = word_at(p + 4);
      if (uint64_t(off) + count > MEM_WORDS) return reply_error(id, "READ past the memory");
      while (!writes.empty()) step();
#if HB_SHARED_MEM
      size_t at = begin_frame(T_READ, id);
      put(count);
      const auto& mem = top->rootp->flow_lookup__DOT__g_shared__DOT__mem;
      for (uint32_t i = 0; i < count; i++) put(mem[off + i]);
      end_frame(at);
#else
      reply_error(id, "reading the image back needs the shared-memory model (HB_SHARED_MEM=1)");
#endif
      break;
    }
#endif
    case T_LOOKUP: {
      if (!need(1)) return;
      uint32_t count = word_at(p);
      if (words != 1 + NIN * size_t(count)) return reply_error(id, "LOOKUP length does not match its count");
      if (count == 0) {
        size_t at = begin_frame(T_LOOKUP, id);
        for (int i = 0; i < 7; i++) put(0);
        put(UINT32_MAX);
        end_frame(at);
        return;
      }
      Batch b;
      b.id = id;
      b.count = count;
      for (size_t c = 0; c < NIN; c++) {
        b.cols[c].resize(count);
        std::memcpy(b.cols[c].data(), p + 4 + c * size_t(count) * 4, size_t(count) * 4);
      }
      b.out.assign(count, 0);
      batches.push_back(std::move(b));
      break;
    }
    case T_CONFIG: {
      if (!need(3)) return;
      configure_backpressure(p);
      ack(T_CONFIG, id);
      break;
    }
    default:
      reply_error(id, "frame type " + std::to_string(type) + " is not served by this design");
  }
}


}  // namespace

int main(int argc, char** argv) {
  ctx = std::make_unique<VerilatedContext>();
  ctx->commandArgs(argc, argv);
  top = std::make_unique<Top>(ctx.get());
  top->rst = 1;
  top->in_valid = 0;
  top->out_ready = 1;
#if defined(HB_FLOW_LOOKUP)
  top->wr_en = 0;
#endif
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
