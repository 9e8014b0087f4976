/** The gpujs backend's kernel forms, one file per kernel. */
import './ip-lookup.js';
import './flow-hash.js';
import './flow-lookup.js';
