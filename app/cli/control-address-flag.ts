/** `--control ADDR` and `hetbox ctl ADDR`: a bad address is a usage error (exit 2), not a stack of JSON. */
import { ControlAddressError, parseControlAddress, type ControlAddress } from '../control/control-address.js';
import { UsageError } from './usage-error.js';

export function controlAddressFlag(text: string): ControlAddress {
  try {
    return parseControlAddress(text);
  } catch (e) {
    if (e instanceof ControlAddressError) throw new UsageError(e.message);
    throw e;
  }
}
