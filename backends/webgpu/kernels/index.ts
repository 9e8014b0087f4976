/** The webgpu backend's kernel forms, one file per kernel (each with its WGSL program). */
import './ip-lookup.js';
import './flow-hash.js';
import './flow-lookup.js';
import './acl-match.js';
