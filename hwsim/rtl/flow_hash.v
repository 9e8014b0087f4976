// flow_hash: the RSS Toeplitz hash (kernel flow-hash, core/kernels/flow-hash/reference.ts) of
// src, dst and, for TCP and UDP (proto 6, 17), ports = sport << 16 | dport.
//
// Input bit i (MSB first over src, dst, ports) contributes the 32 key bits starting at key bit
// i when it is set; the hash is the XOR of those windows. The key is a parameter (default:
// Microsoft's RSS key, the reference's RSS_DEFAULT_KEY); only its first 128 bits reach 96 input
// bits. Each window is a constant, so the hash is a fixed XOR network: every output bit is the
// XOR of the input bits whose window has a one there.
//
// Stages: 0 takes the request and computes the address part (64 bits in) and the port part
// (32 bits in) with the port-protocol test; 1 combines them into the result register. One hash
// per clock, latency 1 cycle from accept to result; back-pressure is a global clock enable as in ip_lookup.
`default_nettype none

module flow_hash #(
    parameter integer TW = 16,
    parameter [127:0] KEY = 128'h6d5a56da255b0ec24167253d43a38fb0
) (
    input  wire          clk,
    input  wire          rst,
    input  wire          in_valid,
    output wire          in_ready,
    input  wire [TW-1:0] in_tag,
    input  wire [31:0]   in_src,
    input  wire [31:0]   in_dst,
    input  wire [31:0]   in_ports,
    input  wire [31:0]   in_proto,
    output wire          out_valid,
    input  wire          out_ready,
    output wire [TW-1:0] out_tag,
    output wire [31:0]   out_flow
);
    // XOR of the windows of the set bits of `x`, whose bit 31 is input bit `first`.
    function automatic [31:0] toeplitz32(input [31:0] x, input integer first);
        integer i;
        begin
            toeplitz32 = 32'd0;
            for (i = 0; i < 32; i = i + 1) if (x[31 - i]) toeplitz32 = toeplitz32 ^ KEY[127 - (first + i) -: 32];
        end
    endfunction

    reg          v1_q, out_v_q, ports_q;
    reg [TW-1:0] tag1_q, out_tag_q;
    reg [31:0]   addr_q, port_q, out_flow_q;

    wire en = !(out_v_q && !out_ready);
    assign in_ready = en;

    always @(posedge clk) begin
        if (rst) begin
            v1_q <= 1'b0;
            out_v_q <= 1'b0;
        end else if (en) begin
            v1_q <= in_valid;
            out_v_q <= v1_q;
        end
        if (en) begin
            tag1_q <= in_tag;
            addr_q <= toeplitz32(in_src, 0) ^ toeplitz32(in_dst, 32);
            port_q <= toeplitz32(in_ports, 64);
            ports_q <= in_proto == 32'd6 || in_proto == 32'd17;
            out_tag_q <= tag1_q;
            out_flow_q <= ports_q ? addr_q ^ port_q : addr_q;
        end
    end

    assign out_valid = out_v_q;
    assign out_tag = out_tag_q;
    assign out_flow = out_flow_q;
endmodule

`default_nettype wire
