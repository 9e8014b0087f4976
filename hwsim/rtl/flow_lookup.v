// flow_lookup: the flow table's lookup engine (kernel flow-lookup; image layout 1,
// core/structures/flow-table/flow-table-image.ts): key (10 words) -> index of the used entry
// holding it, or FLOW_MISS.
//
// The memory holds the image verbatim, word for word, so a delta's writes go straight through the
// write port and the image read back equals the host's copy. The lookup is `lookupOne` unrolled
// into a fixed list of stages that every key passes through:
//
//   0..9         murmur3_32: one round per key word (seed from the header register)
//   10           murmur3 finalizer: hash = fmix32(h ^ 40)
//   11           two candidate buckets: b1 = hash & mask, b2 = fmix32(hash ^ 0x9e3779b9) & mask
//                (b1 ^ 1 when equal), as base entry indices b * slots
//   12 + j       j = 0..2*MAX_SLOTS: compare candidate j-1 (read by the stage before) and issue
//                the read of candidate j: slot j % MAX_SLOTS of bucket b1 (j < MAX_SLOTS) or b2.
//                A candidate past the table's slots, or in b2 when b2 == b1 (one bucket), is
//                inactive. A read is the entry's status word and its 10 key words (11 words).
//
// The first used entry, in the reference's order, whose key equals the lookup's wins.
//
// Geometry: the header words buckets (2), slots (3), words per entry (4) and seed (6) are
// loaded into registers by the writes to those addresses (the header goes last on load: its
// writes publish the table). A flow table's geometry never changes after the load (deltas that
// would change it are refused on the host), so lookups in flight never straddle two geometries.
//
// Faults (the host treats them as a device failure and falls back to the CPU): a table of more
// than MAX_SLOTS slots per bucket (the unrolled compare would skip entries), or an active
// candidate whose words lie past the memory.
//
// Timing: one lookup per clock when not stalled; latency 12 + 2*MAX_SLOTS cycles from accept to
// result. Back-pressure is a global clock enable, as in ip_lookup: while a result waits and
// out_ready is low, every stage holds and in_ready is low. Read ports: 11 words per compare
// stage; SHARED_MEM=0 (synthesis) gives each issuing stage its own copy of the image in 16
// word-interleaved banks (flow_lookup_entry_bank.v), so the 11 consecutive words of an entry are
// one read from 11 different banks in the same cycle; SHARED_MEM=1 (simulation) reads one array.
`default_nettype none

module flow_lookup #(
    parameter integer AW = 22,         // memory of 2**AW 32-bit words
    parameter integer MAX_SLOTS = 8,   // slots per bucket the unrolled compare covers
    parameter integer TW = 16,         // request tag width
    parameter integer SHARED_MEM = 0   // 0: a banked copy per issuing stage; 1: one array (simulation)
) (
    input  wire          clk,
    input  wire          rst,
    // lookup requests: key word w at in_key[32*w +: 32]
    input  wire          in_valid,
    output wire          in_ready,
    input  wire [TW-1:0] in_tag,
    input  wire [319:0]  in_key,
    // results, in request order after a fixed latency
    output wire          out_valid,
    input  wire          out_ready,
    output wire [TW-1:0] out_tag,
    output wire [31:0]   out_entry,    // entry index, or 32'hffffffff (FLOW_MISS)
    output wire          out_fault,
    // image write port (load and deltas), accepted every cycle
    input  wire          wr_en,
    input  wire [AW-1:0] wr_addr,
    input  wire [31:0]   wr_data
);
    localparam integer NC = 2 * MAX_SLOTS;   // candidate entries
    localparam integer S_FMIX = 10, S_BUCKETS = 11, S_CMP = 12;
    localparam integer NS = S_CMP + NC + 1;  // stages; the last one's registers are the result
    localparam integer RW = 11;              // words read per candidate: status + key
    localparam [31:0] HEADER_WORDS = 32'd8;
    localparam [31:0] MISS = 32'hffffffff;

    reg [31:0] buckets_q, slots_q, ew_q, seed_q;
    always @(posedge clk) begin
        if (rst) begin
            buckets_q <= 32'd1; slots_q <= 32'd0; ew_q <= 32'd0; seed_q <= 32'd0;
        end else if (wr_en) begin
            if (wr_addr == 2) buckets_q <= wr_data;
            if (wr_addr == 3) slots_q <= wr_data;
            if (wr_addr == 4) ew_q <= wr_data;
            if (wr_addr == 6) seed_q <= wr_data;
        end
    end

    function automatic [31:0] mm_round(input [31:0] h, input [31:0] k);
        reg [31:0] x, y;
        begin
            x = k * 32'hcc9e2d51;
            x = {x[16:0], x[31:17]};   // rotl 15
            x = x * 32'h1b873593;
            y = h ^ x;
            y = {y[18:0], y[31:19]};   // rotl 13
            mm_round = y * 32'd5 + 32'he6546b64;
        end
    endfunction

    function automatic [31:0] fmix32(input [31:0] h0);
        reg [31:0] h;
        begin
            h = h0 ^ (h0 >> 16);
            h = h * 32'h85ebca6b;
            h = h ^ (h >> 13);
            h = h * 32'hc2b2ae35;
            fmix32 = h ^ (h >> 16);
        end
    endfunction

    // Stage s: *_i are the state registered by stage s-1 (stage 0: the request); *_o are what
    // stage s registers, ra[s] the first word of the entry it reads (compare stages), and
    // rd[s] the 11 words that read returns to stage s+1.
    wire          v_i [0:NS-1], f_i [0:NS-1], hit_i [0:NS-1], act_i [0:NS-1], two_i [0:NS-1];
    wire [TW-1:0] tag_i [0:NS-1];
    wire [319:0]  key_i [0:NS-1];
    wire [31:0]   h_i [0:NS-1], eb2_i [0:NS-1], cand_i [0:NS-1], ent_i [0:NS-1];
    reg           v_o [0:NS-1], f_o [0:NS-1], hit_o [0:NS-1], act_o [0:NS-1], two_o [0:NS-1];
    reg  [TW-1:0] tag_o [0:NS-1];
    reg  [319:0]  key_o [0:NS-1];
    reg  [31:0]   h_o [0:NS-1], eb2_o [0:NS-1], cand_o [0:NS-1], ent_o [0:NS-1];
    reg  [AW-1:0] ra [0:NS-1];
    wire [32*RW-1:0] rd [0:NS-1];

    wire out_v;
    wire en = !(out_v && !out_ready);
    assign in_ready = en;

`define HB_PASS(S) \
    v_o[S] = v_i[S]; f_o[S] = f_i[S]; hit_o[S] = hit_i[S]; act_o[S] = act_i[S]; two_o[S] = two_i[S]; \
    tag_o[S] = tag_i[S]; key_o[S] = key_i[S]; h_o[S] = h_i[S]; eb2_o[S] = eb2_i[S]; \
    cand_o[S] = cand_i[S]; ent_o[S] = ent_i[S]; ra[S] = {AW{1'b0}};

    assign v_i[0] = in_valid;
    assign tag_i[0] = in_tag;
    assign key_i[0] = in_key;
    assign h_i[0] = seed_q;
    assign {f_i[0], hit_i[0], act_i[0], two_i[0]} = 4'd0;
    assign {eb2_i[0], cand_i[0], ent_i[0]} = 96'd0;

    genvar s;
    generate
        // murmur3 rounds, one key word each.
        for (s = 0; s < S_FMIX; s = s + 1) begin : g_round
            always @(*) begin
                `HB_PASS(s)
                h_o[s] = mm_round(h_i[s], key_i[s][32 * s +: 32]);
            end
        end
    endgenerate

    always @(*) begin : stage_fmix
        `HB_PASS(S_FMIX)
        h_o[S_FMIX] = fmix32(h_i[S_FMIX] ^ 32'd40);
    end

    always @(*) begin : stage_buckets
        reg [31:0] mask, b1, b2;
        `HB_PASS(S_BUCKETS)
        mask = buckets_q - 32'd1;
        b1 = h_i[S_BUCKETS] & mask;
        b2 = fmix32(h_i[S_BUCKETS] ^ 32'h9e3779b9) & mask;
        if (b2 == b1) b2 = (b1 ^ 32'd1) & mask;
        two_o[S_BUCKETS] = b2 != b1;
        h_o[S_BUCKETS] = b1 * slots_q;   // base entry of b1 from here on
        eb2_o[S_BUCKETS] = b2 * slots_q;
        if (slots_q > MAX_SLOTS) f_o[S_BUCKETS] = 1'b1;
    end

    generate
        for (s = S_CMP; s < NS; s = s + 1) begin : g_cmp
            localparam integer J = s - S_CMP;   // candidate this stage issues (J < NC)
            always @(*) begin : stage_cmp
                reg match;
                reg [31:0] slot;
                reg [63:0] p;
                integer w;
                `HB_PASS(s)
                // Compare candidate J-1, read by the stage before.
                if (J > 0) begin
                    match = act_i[s] && rd[s - 1][31];
                    for (w = 0; w < 10; w = w + 1) if (rd[s - 1][32 * (w + 1) +: 32] != key_i[s][32 * w +: 32]) match = 1'b0;
                    if (match && !hit_i[s]) begin
                        hit_o[s] = 1'b1;
                        ent_o[s] = cand_i[s];
                    end
                end
                // Issue candidate J.
                if (J < NC) begin
                    slot = J % MAX_SLOTS;
                    act_o[s] = slot < slots_q && (J < MAX_SLOTS || two_i[s]);
                    cand_o[s] = (J < MAX_SLOTS ? h_i[s] : eb2_i[s]) + slot;
                    p = {32'd0, HEADER_WORDS} + {32'd0, cand_o[s]} * {32'd0, ew_q};
                    ra[s] = p[AW-1:0];
                    if (act_o[s] && (p + 64'd10) >> AW != 64'd0) f_o[s] = 1'b1;
                end else begin
                    act_o[s] = 1'b0;
                    cand_o[s] = 32'd0;
                end
            end
        end
    endgenerate
`undef HB_PASS

    // Stage registers. The key and hash fields are constant where a stage range never uses them,
    // so the simulator does not copy them down every stage.
    generate
        for (s = 0; s < NS - 1; s = s + 1) begin : g_reg
            reg          v_q, f_q, hit_q, act_q, two_q;
            reg [TW-1:0] tag_q;
            reg [319:0]  key_q;
            reg [31:0]   h_q, eb2_q, cand_q, ent_q;
            always @(posedge clk) begin
                if (rst) v_q <= 1'b0;
                else if (en) v_q <= v_o[s];
                if (en) begin
                    f_q <= f_o[s]; hit_q <= hit_o[s]; act_q <= act_o[s]; two_q <= two_o[s]; tag_q <= tag_o[s];
                    key_q <= key_o[s]; h_q <= h_o[s]; eb2_q <= eb2_o[s]; cand_q <= cand_o[s]; ent_q <= ent_o[s];
                end
            end
            assign {v_i[s + 1], f_i[s + 1], tag_i[s + 1], key_i[s + 1], h_i[s + 1]} = {v_q, f_q, tag_q, key_q, h_q};
            assign {hit_i[s + 1], act_i[s + 1], two_i[s + 1], eb2_i[s + 1], cand_i[s + 1], ent_i[s + 1]} =
                s >= S_BUCKETS ? {hit_q, act_q, two_q, eb2_q, cand_q, ent_q} : 99'd0;
        end
    endgenerate

    // The result register: the last stage's state.
    reg out_v_q, out_fault_q;
    reg [TW-1:0] out_tag_q;
    reg [31:0] out_entry_q;
    always @(posedge clk) begin
        if (rst) out_v_q <= 1'b0;
        else if (en) out_v_q <= v_o[NS - 1];
        if (en) begin
            out_tag_q <= tag_o[NS - 1];
            out_entry_q <= hit_o[NS - 1] ? ent_o[NS - 1] : MISS;
            out_fault_q <= f_o[NS - 1];
        end
    end
    assign out_v = out_v_q;
    assign out_valid = out_v_q;
    assign out_tag = out_tag_q;
    assign out_entry = out_entry_q;
    assign out_fault = out_fault_q;

    // Memory: a synchronous 11-word read per issuing stage. SHARED_MEM=1 is the simulator's one
    // array; SHARED_MEM=0 the hardware's banked copy per issuing stage. Every copy takes every
    // write, so both answer alike on every cycle.
    generate
        if (SHARED_MEM != 0) begin : g_shared
            reg [31:0] mem [0:(1 << AW) - 1] /*verilator public_flat_rd*/;
            always @(posedge clk) if (wr_en) mem[wr_addr] <= wr_data;
            for (s = S_CMP; s < NS - 1; s = s + 1) begin : g_port
                reg [32*RW-1:0] d_q;
                integer w;
                always @(posedge clk) begin
                    if (en) for (w = 0; w < RW; w = w + 1) d_q[32 * w +: 32] <= mem[ra[s] + w[AW-1:0]];
                end
                assign rd[s] = d_q;
            end
        end else begin : g_banked
            for (s = S_CMP; s < NS - 1; s = s + 1) begin : g_copy
                flow_lookup_entry_bank #(.AW(AW), .RW(RW)) u_bank (
                    .clk(clk), .en(en), .wr_en(wr_en), .wr_addr(wr_addr), .wr_data(wr_data),
                    .ra(ra[s]), .rd(rd[s])
                );
            end
        end
        for (s = 0; s < S_CMP; s = s + 1) begin : g_no_port
            assign rd[s] = {(32 * RW){1'b0}};
        end
        assign rd[NS - 1] = {(32 * RW){1'b0}};
    endgenerate

    // Signals some stages leave unused (the last stage's address, the reset without registers).
    wire unused = &{1'b0, ra[NS - 1], ra[0], rd[NS - 1]};
endmodule

`default_nettype wire
