/** The null backend's kernel forms, one file per kernel. */
import './ip-lookup.js';
import './flow-hash.js';
import './flow-lookup.js';
import './acl-match.js';
