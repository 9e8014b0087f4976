/** The fpga backend's kernel forms, one file per kernel. */
import './ip-lookup.js';
import './flow-lookup.js';
import './flow-hash.js';
