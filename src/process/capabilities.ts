/** Capability bit masks to CapabilitiesType values (the enum value is the bit number). */
import type { CapabilitiesType } from "../api/gen/tetragon/capabilities_pb";

const MAX_CAP = 40;

export function capsFromMask(mask: bigint): CapabilitiesType[] {
  const out: CapabilitiesType[] = [];
  let m = mask;
  for (let bit = 0; m !== 0n && bit <= MAX_CAP; bit++, m >>= 1n) {
    if (m & 1n) out.push(bit as CapabilitiesType);
  }
  return out;
}

export function securebitsList(bits: number): number[] {
  const out: number[] = [];
  for (let b = 1; b <= 128; b <<= 1) if (bits & b) out.push(b);
  return out;
}

export const CAP_SYS_ADMIN = 21;
