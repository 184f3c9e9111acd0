/**
 * struct iov_iter as the running kernel lays it out, for the generic sensor's `iov_layout`
 * global (bpf/events/generic.h): Linux 6.4 reordered the struct, renamed `iov` to `__iov` and
 * renumbered enum iter_type, so CO-RE field names alone do not cover every kernel.
 */
import { IOV_ITER_LAYOUT } from "../../decode/generic-layout";
import type { KernelBtf } from "./btf";

/** The layout's bytes; all zero (ok = 0: iov_iter arguments carry no bytes) when BTF lacks a field. */
export function iovIterLayout(btf: KernelBtf): Buffer {
  const b = Buffer.alloc(IOV_ITER_LAYOUT.SIZE);
  const offset = (field: string): number | undefined => {
    try {
      const r = btf.resolve("iov_iter", field);
      return r.steps.length === 1 ? r.steps[0].off : undefined;
    } catch {
      return undefined;
    }
  };
  const type = offset("iter_type");
  const count = offset("count");
  const ptr = offset("ubuf") ?? offset("__iov") ?? offset("iov");
  const consumed = offset("iov_offset");
  const nrSegs = offset("nr_segs");
  const iovec = btf.enumValue("ITER_IOVEC");
  const kvec = btf.enumValue("ITER_KVEC");
  if ([type, count, ptr, consumed, nrSegs, iovec, kvec].some((x) => x === undefined)) return b;
  b.writeUInt16LE(type!, IOV_ITER_LAYOUT.type_off);
  b.writeUInt16LE(count!, IOV_ITER_LAYOUT.count_off);
  b.writeUInt16LE(ptr!, IOV_ITER_LAYOUT.ptr_off);
  b.writeUInt16LE(consumed!, IOV_ITER_LAYOUT.offset_off);
  b.writeUInt16LE(nrSegs!, IOV_ITER_LAYOUT.nr_segs_off);
  b.writeUInt8(btf.enumValue("ITER_UBUF") ?? 0xff, IOV_ITER_LAYOUT.ubuf);
  b.writeUInt8(iovec!, IOV_ITER_LAYOUT.iovec);
  b.writeUInt8(kvec!, IOV_ITER_LAYOUT.kvec);
  b.writeUInt8(1, IOV_ITER_LAYOUT.ok);
  return b;
}
