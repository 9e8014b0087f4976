/** The fpga backend: importing this module registers its kernel forms. */
import type { Backend } from '../../core/backend.js';
import { FpgaBackend, fpgaOptionsSchema, type FpgaOptions, type LookupBatchResult } from './fpga-backend.js';
import './kernels/index.js';

export { FpgaBackend, fpgaOptionsSchema, type FpgaOptions, type LookupBatchResult };
export { describeFpgaHardware, hardwareView, bramFit, VIRTEX7_690T, type FpgaPart, type HardwareView } from './hardware-view.js';
export { fpgaHardwareReport } from './hardware-report.js';

/** The factory the backend registry calls (declared in `app/backend-catalog.ts`) (the registry passes no options for fpga). */
export function createBackend(options?: FpgaOptions & { variant?: string }): Backend {
  const { variant, ...rest } = options ?? {};
  if (variant !== undefined) throw new Error(`fpga: no variant '${variant}'`);
  return new FpgaBackend(rest);
}
