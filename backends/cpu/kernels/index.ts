/** The cpu backend's kernel forms, one file per kernel (imported by the backend so they register). */
import './ip-lookup.js';
import './flow-hash.js';
import './flow-lookup.js';
import './acl-match.js';
