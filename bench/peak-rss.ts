import { readFileSync } from 'node:fs';

/**
 * This process's peak resident set (VmHWM). Not process.resourceUsage().maxRSS: Linux keeps
 * ru_maxrss across execve, so a child spawned by a big parent reports the parent's peak.
 */
export function peakRss(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.resourceUsage().maxRSS * 1024;
}
