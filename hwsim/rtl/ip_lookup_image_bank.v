// ip_lookup_image_bank: one stage's copy of the image in block RAM, split into an even-word and an
// odd-word bank so a pair read (a, a+1) is one read from each bank in the same cycle. Each bank is
// a simple dual-port RAM (one write port, one synchronous read port), which is what a Xilinx
// RAMB36/RAMB18 in SDP mode offers; every copy takes every image write.
`default_nettype none

module ip_lookup_image_bank #(
    parameter integer AW = 10
) (
    input  wire          clk,
    input  wire          en,
    input  wire          wr_en,
    input  wire [AW-1:0] wr_addr,
    input  wire [31:0]   wr_data,
    input  wire [AW-1:0] ra,      // first word of the pair
    output wire [31:0]   da,      // word ra
    output wire [31:0]   db       // word ra + 1
);
    reg [31:0] even [0:(1 << (AW - 1)) - 1];
    reg [31:0] odd  [0:(1 << (AW - 1)) - 1];
    reg [31:0] even_q, odd_q;
    reg        swap_q;

    wire [AW-1:0] rb = ra + 1'b1;
    // With ra odd, the pair is odd[ra/2] then even[(ra+1)/2].
    wire [AW-2:0] even_addr = ra[0] ? rb[AW-1:1] : ra[AW-1:1];
    wire [AW-2:0] odd_addr = ra[AW-1:1];

    always @(posedge clk) begin
        if (wr_en && !wr_addr[0]) even[wr_addr[AW-1:1]] <= wr_data;
        if (wr_en && wr_addr[0]) odd[wr_addr[AW-1:1]] <= wr_data;
        if (en) begin
            even_q <= even[even_addr];
            odd_q <= odd[odd_addr];
            swap_q <= ra[0];
        end
    end

    assign da = swap_q ? odd_q : even_q;
    assign db = swap_q ? even_q : odd_q;

    wire unused = &{1'b0, rb[0]};
endmodule

`default_nettype wire
