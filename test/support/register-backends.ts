// Every test file runs with the shipped backends declared, as the CLI and the bench do.
import { registerBackends } from '../../app/backend-catalog.js';

registerBackends();
