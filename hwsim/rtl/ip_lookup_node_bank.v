// ip_lookup_node_bank: a node stage's copy of the image in block RAM. The stage reads two words of
// one node header in the same cycle, the chunk's bitmap word (node + w) and the count word holding
// its run count (node + 8 + w/4), which lie 2 to 8 words apart: no even/odd split serves every such
// pair, but 16 word-interleaved banks (word a in bank a % 16, row a / 16) put them in different
// banks, each read once. Each bank is a simple dual-port RAM (one write port, one synchronous read
// port), what a Xilinx RAMB18/RAMB36 in SDP mode (or distributed RAM when shallow) offers; the copy
// still holds the image once, and it takes every image write.
`default_nettype none

module ip_lookup_node_bank #(
    parameter integer AW = 10
) (
    input  wire          clk,
    input  wire          en,
    input  wire          wr_en,
    input  wire [AW-1:0] wr_addr,
    input  wire [31:0]   wr_data,
    input  wire [AW-1:0] ra,      // first word read
    input  wire [AW-1:0] rb,      // second word read: rb - ra must not be a multiple of 16
    output wire [31:0]   da,      // word ra
    output wire [31:0]   db       // word rb
);
    reg [3:0] bank_a_q, bank_b_q;
    wire [32*16-1:0] q;

    genvar b;
    generate
        for (b = 0; b < 16; b = b + 1) begin : g_bank
            reg [31:0] mem [0:(1 << (AW - 4)) - 1];
            reg [31:0] q_q;
            // The bank serves whichever of the two addresses lies in it (never both: see rb).
            wire [AW-5:0] row = ra[3:0] == b[3:0] ? ra[AW-1:4] : rb[AW-1:4];
            always @(posedge clk) begin
                if (wr_en && wr_addr[3:0] == b[3:0]) mem[wr_addr[AW-1:4]] <= wr_data;
                if (en) q_q <= mem[row];
            end
            assign q[32 * b +: 32] = q_q;
        end
    endgenerate

    always @(posedge clk) begin
        if (en) begin
            bank_a_q <= ra[3:0];
            bank_b_q <= rb[3:0];
        end
    end

    assign da = q[32 * bank_a_q +: 32];
    assign db = q[32 * bank_b_q +: 32];
endmodule

`default_nettype wire
