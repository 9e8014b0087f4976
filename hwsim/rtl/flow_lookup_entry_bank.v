// flow_lookup_entry_bank: one issuing stage's copy of the flow-table image in block RAM, split into
// 16 word-interleaved banks (word a lives in bank a % 16, row a / 16) so the RW <= 16 consecutive
// words of an entry (status + key) are one read from RW different banks in the same cycle. Each
// bank is a simple dual-port RAM (one write port, one synchronous read port), what a Xilinx
// RAMB18 in SDP mode (or distributed RAM when shallow) offers; every copy takes every image write.
`default_nettype none

module flow_lookup_entry_bank #(
    parameter integer AW = 10,
    parameter integer RW = 11
) (
    input  wire            clk,
    input  wire            en,
    input  wire            wr_en,
    input  wire [AW-1:0]   wr_addr,
    input  wire [31:0]     wr_data,
    input  wire [AW-1:0]   ra,        // first word of the entry
    output wire [32*RW-1:0] rd        // words ra .. ra+RW-1, word i at [32*i +: 32]
);
    reg [3:0] rot_q;
    wire [32*16-1:0] q;

    genvar b;
    generate
        for (b = 0; b < 16; b = b + 1) begin : g_bank
            reg [31:0] mem [0:(1 << (AW - 4)) - 1];
            reg [31:0] q_q;
            // The word of this bank among ra..ra+15: ra rounded up to the next address = b mod 16.
            wire [AW-1:0] a = ra + {{(AW - 4){1'b0}}, b[3:0] - ra[3:0]};
            always @(posedge clk) begin
                if (wr_en && wr_addr[3:0] == b[3:0]) mem[wr_addr[AW-1:4]] <= wr_data;
                if (en) q_q <= mem[a[AW-1:4]];
            end
            assign q[32 * b +: 32] = q_q;
            wire unused = &{1'b0, a[3:0]};
        end
    endgenerate

    always @(posedge clk) if (en) rot_q <= ra[3:0];

    genvar i;
    generate
        for (i = 0; i < RW; i = i + 1) begin : g_word
            wire [3:0] bank = rot_q + i[3:0];
            assign rd[32 * i +: 32] = q[32 * bank +: 32];
        end
    endgenerate
endmodule

`default_nettype wire
