/** The gpujs backend's kernel forms, one file per kernel (flow-hash and flow-lookup have none: gpu.js's f32 cannot carry their 32-bit XOR, multiplies and compares). */
import './ip-lookup.js';
