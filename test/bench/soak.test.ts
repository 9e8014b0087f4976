/**
 * `npm run soak` for a few seconds: the router process keeps forwarding while the control
 * client churns LINX differences and fresh gateways, and every sampled lookup equals the naive
 * LPM. (Memory flatness needs minutes: `npm run soak` checks it; this run only reports RSS.)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { runSoak } from '../../bench/soak.js';
import { PROJECT_ROOT } from '../pcap/pcap-test-support.js';

describe('soak (short)', () => {
  beforeAll(() => {
    const child = path.join(PROJECT_ROOT, 'dist', 'bench', 'soak-router.js');
    if (!existsSync(child)) throw new Error(`${child} missing: run 'npm run build' (npm test does)`);
  });

  it('routes churn under traffic; lookups stay equal to a naive LPM', async () => {
    const r = await runSoak({ durationS: 4, log: () => {} });
    expect(r.failures).toEqual([]);
    expect(r.mismatches).toEqual([]);
    expect(r.lookupsChecked).toBeGreaterThan(0);
    expect(r.routeChanges).toBeGreaterThan(1000);
    expect(r.uniqueGateways).toBeGreaterThan(0);
    expect(r.packets).toBeGreaterThan(0);
  }, 120_000);
});
