/** The gpujs backend's kernel forms, one file per kernel (flow-hash has none: gpu.js's f32 cannot carry 32-bit XOR). */
import './ip-lookup.js';
