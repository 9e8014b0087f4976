// ip_lookup_delay: N cycles of register delay with a clock enable; N = 0 is a wire. Models the part of
// a memory's read latency beyond the first cycle (an off-chip SRAM behind its controller).
`default_nettype none

module ip_lookup_delay #(
    parameter integer W = 1,
    parameter integer N = 0
) (
    input  wire         clk,
    input  wire         rst,
    input  wire         en,
    input  wire [W-1:0] d,
    output wire [W-1:0] q
);
    generate
        if (N == 0) begin : g_wire
            assign q = d;
            // rst and clk have no use without registers.
            wire unused = &{1'b0, clk, rst, en};
        end else begin : g_regs
            reg [W-1:0] r [0:N-1];
            integer i;
            always @(posedge clk) begin
                if (en) begin
                    r[0] <= d;
                    for (i = 1; i < N; i = i + 1) r[i] <= r[i - 1];
                end
                // Bit 0 of every lookup state is its valid bit: a reset empties the line.
                if (rst) for (i = 0; i < N; i = i + 1) r[i][0] <= 1'b0;
            end
            assign q = r[N - 1];
        end
    endgenerate
endmodule

`default_nettype wire
