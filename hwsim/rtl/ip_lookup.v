// ip_lookup: the multi-FIB IPv4 lookup engine (image layout 2, core/structures/multi-fib/image-format.ts).
//
// The memory holds the image verbatim, word for word, so a delta's writes go straight through the
// write port and the image read back equals the host's copy. The walk is unrolled into a fixed
// list of memory stages that every lookup passes through; a stage whose part of the walk does not
// apply (no node at that level, no record) issues no meaningful read and passes its state on:
//
//   0 L0    read L0[addr[31:16]] at the L0 base register
//   1 N1A   node level 1 (tag 2 NODE or 3 NARROW_NODE): read the chunk's bitmap word (node + w)
//           and the count word holding its run count (node + 8 + w/4), two reads
//   2 N1B   node level 1: read the word of run entry k (count byte + popcount of the masked bitmap
//           - 1): word 10 + k of a NODE, word 10 + k/2 of a NARROW_NODE, whose 16-bit half k%2
//           the next stage selects (0xffff = NO_ROUTE)
//   3 N2A   node level 2, two reads
//   4 N2B   node level 2, entry read
//   5 RH    record header: default entry and pair count n (one pair)
//   6..     REC_STEPS binary-search steps over the sorted (fib, entry) pairs, one pair read each
//
// Why binary search and not a re-laid fixed-width record row: the pairs are sorted by fib, so
// REC_STEPS probes resolve any record of up to 2**REC_STEPS-1 pairs with the image left as it is,
// and deltas need no translation. A record longer than that, a third node level (of either tag) or
// an address past the memory raise `out_fault` (the host treats it as a device failure and falls
// back to the CPU); a well-formed image of up to 2**REC_STEPS FIBs never faults.
//
// Timing: one lookup per clock when not stalled; latency is (6 + REC_STEPS) * MEM_LAT + 1 cycles
// (MEM_LAT is the memory read latency: 1 for block RAM, more for off-chip SRAM behind a
// controller). Back-pressure is a global clock enable: while a result is waiting and out_ready
// is low, every stage holds, and in_ready is low. Read ports: one per stage (two for the node
// header and pair stages); in block RAM that is one copy of the image per stage: the pair stages'
// copy is banked even/odd (ip_lookup_image_bank), the node header stages' 16-way word-interleaved
// (ip_lookup_node_bank), since their two words are 2 to 8 apart.
//
// Versions: writes may arrive on every cycle, whatever the lookups do. A write to header word
// H_L0 (4) also loads the L0 base register: that write is the root flip, so a lookup that entered
// before it walks the old table and one that entered after walks the new one, provided the
// writer puts new nodes/records in free space first (the image format's publishing rule).
`default_nettype none

module ip_lookup #(
    parameter integer AW = 22,        // memory of 2**AW 32-bit words
    parameter integer MEM_LAT = 1,    // memory read latency in cycles (>= 1)
    parameter integer REC_STEPS = 6,  // record resolver: up to 2**REC_STEPS-1 pairs per record
    parameter integer TW = 16,        // request tag width
    parameter integer SHARED_MEM = 0  // 0: a banked block-RAM copy per stage; 1: one array (simulation)
) (
    input  wire          clk,
    input  wire          rst,
    // lookup requests
    input  wire          in_valid,
    output wire          in_ready,
    input  wire [TW-1:0] in_tag,
    input  wire [31:0]   in_addr,
    input  wire [31:0]   in_fib,
    // results, in request order after a fixed latency
    output wire          out_valid,
    input  wire          out_ready,
    output wire [TW-1:0] out_tag,
    output wire [31:0]   out_entry,   // final entry: a LEAF value (NO_ROUTE = 0x3fffffff)
    output wire          out_fault,
    // image write port (load and deltas), accepted every cycle
    input  wire          wr_en,
    input  wire [AW-1:0] wr_addr,
    input  wire [31:0]   wr_data,
    output wire [AW-1:0] l0_base
);
    localparam integer NS = 6 + REC_STEPS;  // memory stages
    localparam integer S_L0 = 0, S_N1A = 1, S_RH = 5, S_BS = 6;
    localparam [AW-1:0] H_L0 = 4;

    // Per-lookup state, one signal per field (narrow fields simulate far faster than one wide
    // packed vector): valid, fault, hit, tag, address, fib, entry, record default, pair count n,
    // hit value, search bound lo, the pending probe pr, and hs: the half (k & 1) of the run entry
    // word a NARROW_NODE stage read, which the next stage selects.
    localparam integer MW = 4 + TW + 6 * 32 + 2 * 16;

    reg [AW-1:0] l0_base_q;
    reg out_v_q, out_fault_q;
    reg [TW-1:0] out_tag_q;
    reg [31:0] out_entry_q;

    wire en = !(out_v_q && !out_ready);
    assign in_ready = en;
    assign out_valid = out_v_q;
    assign out_tag = out_tag_q;
    assign out_entry = out_entry_q;
    assign out_fault = out_fault_q;
    assign l0_base = l0_base_q;

    always @(posedge clk) begin
        if (rst) l0_base_q <= {AW{1'b0}};
        else if (wr_en && wr_addr == H_L0) l0_base_q <= wr_data[AW-1:0];
    end

    // SWAR population count: an adder tree in hardware, a handful of operations in simulation.
    function automatic [31:0] popcount32(input [31:0] x);
        reg [31:0] y;
        begin
            y = x - ((x >> 1) & 32'h55555555);
            y = (y & 32'h33333333) + ((y >> 2) & 32'h33333333);
            y = (y + (y >> 4)) & 32'h0f0f0f0f;
            y = y + (y >> 8);
            y = y + (y >> 16);
            popcount32 = {26'd0, y[5:0]};
        end
    endfunction

    // The run entry a node stage read: the word itself for a NODE; for a NARROW_NODE its 16-bit
    // half `half` (0 = bits 15..0) as a LEAF, the half 0xffff being NO_ROUTE.
    function automatic [31:0] run_entry(input narrow, input [31:0] word, input half);
        reg [15:0] h;
        begin
            h = half ? word[31:16] : word[15:0];
            if (!narrow) run_entry = word;
            else if (h == 16'hffff) run_entry = 32'h3fffffff;
            else run_entry = {16'd0, h};
        end
    endfunction

    // True when a 32-bit word address lies outside the memory.
    function automatic out_of_range(input [31:0] a);
        begin
            out_of_range = (a >> AW) != 32'd0;
        end
    endfunction

    // Stage s: *_i/da/db are the state and read data leaving stage s-1 (after the memory latency);
    // *_o/ra/rb are the state registered by stage s and the addresses it reads.
    wire          v_i [1:NS], f_i [1:NS], h_i [1:NS], hs_i [1:NS];
    wire [TW-1:0] tag_i [1:NS];
    wire [31:0]   addr_i [1:NS], fib_i [1:NS], e_i [1:NS], def_i [1:NS], n_i [1:NS], hv_i [1:NS];
    wire [15:0]   lo_i [1:NS], pr_i [1:NS];
    wire [31:0]   da [1:NS];
    wire [31:0]   db [1:NS];
    reg           v_o [0:NS-1], f_o [0:NS-1], h_o [0:NS-1], hs_o [0:NS-1];
    reg  [TW-1:0] tag_o [0:NS-1];
    reg  [31:0]   addr_o [0:NS-1], fib_o [0:NS-1], e_o [0:NS-1], def_o [0:NS-1], n_o [0:NS-1], hv_o [0:NS-1];
    reg  [15:0]   lo_o [0:NS-1], pr_o [0:NS-1];
    reg  [31:0]   ra [0:NS-1];
    reg  [31:0]   rb [0:NS-1];
    // What each stage's memory returns (before the extra latency).
    wire [31:0]   rd_a [0:NS-1];
    wire [31:0]   rd_b [0:NS-1];

`define HB_PASS(S) \
    v_o[S] = v_i[S]; f_o[S] = f_i[S]; h_o[S] = h_i[S]; tag_o[S] = tag_i[S]; \
    addr_o[S] = addr_i[S]; fib_o[S] = fib_i[S]; e_o[S] = e_i[S]; def_o[S] = def_i[S]; \
    n_o[S] = n_i[S]; hv_o[S] = hv_i[S]; lo_o[S] = lo_i[S]; pr_o[S] = pr_i[S]; hs_o[S] = hs_i[S];

    // Stage 0 takes the request.
    always @(*) begin
        v_o[S_L0] = in_valid;
        h_o[S_L0] = 1'b0;
        hs_o[S_L0] = 1'b0;
        tag_o[S_L0] = in_tag;
        addr_o[S_L0] = in_addr;
        fib_o[S_L0] = in_fib;
        e_o[S_L0] = 32'd0;
        def_o[S_L0] = 32'd0;
        n_o[S_L0] = 32'd0;
        hv_o[S_L0] = 32'd0;
        lo_o[S_L0] = 16'd0;
        pr_o[S_L0] = 16'd0;
        ra[S_L0] = {{(32 - AW){1'b0}}, l0_base_q} + {16'd0, in_addr[31:16]};
        rb[S_L0] = 32'd0;
        f_o[S_L0] = out_of_range(ra[S_L0]);
    end

    // Node levels: stage A takes the entry (from L0 or the previous level) and reads the chunk's
    // bitmap and count words; stage B reads the word of the run entry that covers the slot.
    genvar lv;
    generate
        for (lv = 0; lv < 2; lv = lv + 1) begin : g_node
            localparam integer SA = S_N1A + 2 * lv;
            localparam integer SB = SA + 1;
            localparam integer SHIFT = 8 - 8 * lv;
            always @(*) begin : stage_a
                reg [31:0] e;
                reg [2:0] chunk;
                `HB_PASS(SA)
                e = e_i[SA];
                // Level 1 takes the L0 entry; level 2 takes level 1's run entry when level 1 ran.
                if (lv == 0) e = da[SA];
                else if (e[31]) e = run_entry(e[30], da[SA], hs_i[SA]);
                e_o[SA] = e;
                chunk = addr_i[SA][SHIFT + 5 +: 3];
                // Bitmap word node + w, count word node + 8 + w/4 (always the higher address).
                ra[SA] = {2'b00, e[29:0]} + {29'd0, chunk};
                rb[SA] = {2'b00, e[29:0]} + 32'd8 + {31'd0, chunk[2]};
                if (e[31] && out_of_range(rb[SA])) f_o[SA] = 1'b1;
            end
            always @(*) begin : stage_b
                reg [31:0] e, bits, k;
                reg [4:0] b;
                reg [1:0] byte_at;
                reg [7:0] runs_before;
                `HB_PASS(SB)
                e = e_i[SB];
                b = addr_i[SB][SHIFT +: 5];
                byte_at = addr_i[SB][SHIFT + 5 +: 2];
                bits = da[SB] & (32'hffffffff >> (5'd31 - b));
                runs_before = db[SB][8 * byte_at +: 8];
                k = {24'd0, runs_before} + popcount32(bits) - 32'd1;
                // NODE: run entry word 10 + k; NARROW_NODE: word 10 + k/2, half k%2.
                ra[SB] = {2'b00, e[29:0]} + 32'd10 + (e[30] ? {1'b0, k[31:1]} : k);
                rb[SB] = 32'd0;
                hs_o[SB] = k[0];
                if (e[31] && out_of_range(ra[SB])) f_o[SB] = 1'b1;
            end
        end
    endgenerate

    // Record header: the walk has ended; a record entry reads its default and pair count.
    always @(*) begin : stage_rh
        reg [31:0] e;
        `HB_PASS(S_RH)
        e = e_i[S_RH];
        if (e[31]) e = run_entry(e[30], da[S_RH], hs_i[S_RH]);
        e_o[S_RH] = e;
        // A node entry (either tag) here would be a third node level: outside IPv4 images.
        if (e[31]) f_o[S_RH] = 1'b1;
        ra[S_RH] = {2'b00, e[29:0]};
        rb[S_RH] = ra[S_RH] + 32'd1;
        if (e[31:30] == 2'd1 && out_of_range(rb[S_RH])) f_o[S_RH] = 1'b1;
    end

    // Binary search, step k probes lo + 2**(REC_STEPS-1-k) (a 1-based pair index). A probe whose
    // fib is <= the lookup's fib moves lo up to it, so the pair holding the fib, if any, is probed
    // at the step that sets lo to its index: that is where the hit is caught.
    genvar k;
    generate
        for (k = 0; k < REC_STEPS; k = k + 1) begin : g_search
            localparam integer S = S_BS + k;
            always @(*) begin : stage_bs
                reg [31:0] e, probe;
                `HB_PASS(S)
                e = e_i[S];
                if (k == 0) begin
                    def_o[S] = da[S];
                    n_o[S] = db[S];
                    lo_o[S] = 16'd0;
                    if (e[31:30] == 2'd1 && db[S] > ((32'd1 << REC_STEPS) - 32'd1)) f_o[S] = 1'b1;
                end else if (pr_i[S] != 16'd0 && da[S] <= fib_i[S]) begin
                    lo_o[S] = pr_i[S];
                    if (da[S] == fib_i[S]) begin
                        h_o[S] = 1'b1;
                        hv_o[S] = db[S];
                    end
                end
                probe = {16'd0, lo_o[S]} + (32'd1 << (REC_STEPS - 1 - k));
                ra[S] = {2'b00, e[29:0]} + {probe[30:0], 1'b0};
                rb[S] = ra[S] + 32'd1;
                pr_o[S] = (e[31:30] == 2'd1 && probe <= n_o[S]) ? probe[15:0] : 16'd0;
                if (pr_o[S] != 16'd0 && out_of_range(rb[S])) f_o[S] = 1'b1;
            end
        end
    endgenerate
`undef HB_PASS

    // Resolve the last probe and register the result.
    reg hit;
    reg [31:0] hit_value, result;
    always @(*) begin
        hit = h_i[NS];
        hit_value = hv_i[NS];
        if (pr_i[NS] != 16'd0 && da[NS] == fib_i[NS]) begin
            hit = 1'b1;
            hit_value = db[NS];
        end
        if (e_i[NS][31:30] == 2'd1) result = hit ? hit_value : def_i[NS];
        else result = e_i[NS];
    end

    always @(posedge clk) begin
        if (rst) out_v_q <= 1'b0;
        else if (en) out_v_q <= v_i[NS];
        if (en) begin
            out_tag_q <= tag_i[NS];
            out_entry_q <= result;
            out_fault_q <= f_i[NS] || result[31:30] != 2'd0;
        end
    end

    // Memory stages: a synchronous read plus MEM_LAT-1 cycles of further latency. SHARED_MEM=0 is
    // the hardware: one even/odd-banked copy of the image per stage (block RAM). SHARED_MEM=1 is
    // the simulator's model of it: one array read by every stage. Every copy takes every write, so
    // the two answer alike on every cycle (a test runs the banked form against the same tables).
    genvar s;
    generate
        if (SHARED_MEM != 0) begin : g_shared
            reg [31:0] mem [0:(1 << AW) - 1] /*verilator public_flat_rd*/;
            always @(posedge clk) if (wr_en) mem[wr_addr] <= wr_data;
            for (s = 0; s < NS; s = s + 1) begin : g_port
                reg [31:0] a_q, b_q;
                always @(posedge clk) begin
                    if (en) begin
                        a_q <= mem[ra[s][AW-1:0]];
                        b_q <= mem[rb[s][AW-1:0]];
                    end
                end
                assign rd_a[s] = a_q;
                assign rd_b[s] = b_q;
            end
        end else begin : g_banked
            for (s = 0; s < NS; s = s + 1) begin : g_copy
                if (s == S_N1A || s == S_N1A + 2) begin : g_node_header
                    ip_lookup_node_bank #(.AW(AW)) u_bank (
                        .clk(clk), .en(en), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
                        .ra(ra[s][AW-1:0]), .rb(rb[s][AW-1:0]), .da(rd_a[s]), .db(rd_b[s])
                    );
                end else begin : g_pair
                    ip_lookup_image_bank #(.AW(AW)) u_bank (
                        .clk(clk), .en(en), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
                        .ra(ra[s][AW-1:0]), .da(rd_a[s]), .db(rd_b[s])
                    );
                end
            end
        end
        for (s = 0; s < NS; s = s + 1) begin : g_stage
            reg          v_q, f_q, h_q, hs_q;
            reg [TW-1:0] tag_q;
            reg [31:0]   addr_q, fib_q, e_q, def_q, n_q, hv_q;
            reg [15:0]   lo_q, pr_q;
            always @(posedge clk) begin
                if (rst) v_q <= 1'b0;
                else if (en) v_q <= v_o[s];
                if (en) begin
                    f_q <= f_o[s]; h_q <= h_o[s]; hs_q <= hs_o[s]; tag_q <= tag_o[s];
                    addr_q <= addr_o[s]; fib_q <= fib_o[s]; e_q <= e_o[s]; def_q <= def_o[s];
                    n_q <= n_o[s]; hv_q <= hv_o[s]; lo_q <= lo_o[s]; pr_q <= pr_o[s];
                end
            end
            if (MEM_LAT == 1) begin : g_direct
                // Fields a stage range never uses are constant there, so the simulator does not
                // copy them down every stage (synthesis removes those registers anyway).
                assign {v_i[s + 1], f_i[s + 1], tag_i[s + 1], fib_i[s + 1], e_i[s + 1]} = {v_q, f_q, tag_q, fib_q, e_q};
                assign addr_i[s + 1] = s < S_RH - 1 ? addr_q : 32'd0;
                assign hs_i[s + 1] = s < S_RH ? hs_q : 1'b0;
                assign {def_i[s + 1], n_i[s + 1], lo_i[s + 1], pr_i[s + 1]} = s >= S_BS ? {def_q, n_q, lo_q, pr_q} : 96'd0;
                assign {h_i[s + 1], hv_i[s + 1]} = s > S_BS ? {h_q, hv_q} : 33'd0;
                assign {db[s + 1], da[s + 1]} = {rd_b[s], rd_a[s]};
                wire unused = &{1'b0, rst};
            end else begin : g_delayed
                // Valid sits at bit 0: ip_lookup_delay clears bit 0 on reset.
                ip_lookup_delay #(.W(MW + 64), .N(MEM_LAT - 1)) u_lat (
                    .clk(clk), .rst(rst), .en(en),
                    .d({rd_b[s], rd_a[s], hs_q, pr_q, lo_q, hv_q, n_q, def_q, e_q, fib_q, addr_q, tag_q, h_q, f_q, v_q}),
                    .q({db[s + 1], da[s + 1], hs_i[s + 1], pr_i[s + 1], lo_i[s + 1], hv_i[s + 1], n_i[s + 1], def_i[s + 1], e_i[s + 1],
                        fib_i[s + 1], addr_i[s + 1], tag_i[s + 1], h_i[s + 1], f_i[s + 1], v_i[s + 1]})
                );
            end
        end
    endgenerate
endmodule

`default_nettype wire
