/**
 * struct iov_iter's layout from BTF (src/sensors/tracing/iov-iter-layout.ts): this machine's
 * kernel (6.4+ layout: ubuf first in its union, ITER_UBUF = 0) and a pre-6.4 layout written as
 * bpftool's raw dump (`iov` instead of `__iov`, count outside the pointer's union, the enum
 * renumbered).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { KernelBtf, kernelBtf } from "../../src/sensors/tracing/btf";
import { iovIterLayout } from "../../src/sensors/tracing/iov-iter-layout";
import { IOV_ITER_LAYOUT as L } from "../../src/decode/generic-layout";

function fields(b: Buffer) {
  return {
    type: b.readUInt16LE(L.type_off), count: b.readUInt16LE(L.count_off), ptr: b.readUInt16LE(L.ptr_off),
    consumed: b.readUInt16LE(L.offset_off), nrSegs: b.readUInt16LE(L.nr_segs_off),
    ubuf: b.readUInt8(L.ubuf), iovec: b.readUInt8(L.iovec), kvec: b.readUInt8(L.kvec), ok: b.readUInt8(L.ok),
  };
}

test("this kernel's struct iov_iter, from its BTF", { skip: fs.existsSync("/sys/kernel/btf/vmlinux") ? false : "no kernel BTF" }, () => {
  const btf = kernelBtf();
  const got = fields(iovIterLayout(btf));
  const off = (f: string) => btf.resolve("iov_iter", f).steps[0].off;
  assert.equal(got.ok, 1);
  assert.equal(got.type, off("iter_type"));
  assert.equal(got.count, off("count"));
  assert.equal(got.ptr, off("ubuf"));
  assert.equal(got.ptr, off("kvec"), "the buffer, iovec and kvec pointers share one union");
  assert.equal(got.consumed, off("iov_offset"));
  assert.equal(got.nrSegs, off("nr_segs"));
  assert.deepEqual([got.ubuf, got.iovec, got.kvec], [btf.enumValue("ITER_UBUF"), btf.enumValue("ITER_IOVEC"), btf.enumValue("ITER_KVEC")]);
});

const OLD_LAYOUT = `[1] INT 'unsigned char' size=1 bits_offset=0 nr_bits=8 encoding=(none)
[2] INT 'long unsigned int' size=8 bits_offset=0 nr_bits=64 encoding=(none)
[3] PTR '(anon)' type_id=5
[4] STRUCT 'iov_iter' size=48 vlen=5
	'iter_type' type_id=1 bits_offset=0
	'(anon)' type_id=8 bits_offset=64
	'count' type_id=2 bits_offset=128
	'(anon)' type_id=6 bits_offset=192
	'(anon)' type_id=7 bits_offset=256
[5] STRUCT 'iovec' size=16 vlen=0
[6] UNION '(anon)' size=8 vlen=3
	'iov' type_id=3 bits_offset=0
	'kvec' type_id=3 bits_offset=0
	'ubuf' type_id=3 bits_offset=0
[7] UNION '(anon)' size=8 vlen=1
	'nr_segs' type_id=2 bits_offset=0
[8] UNION '(anon)' size=8 vlen=1
	'iov_offset' type_id=2 bits_offset=0
[9] ENUM 'iter_type' encoding=UNSIGNED size=4 vlen=7
	'ITER_IOVEC' val=0
	'ITER_KVEC' val=1
	'ITER_BVEC' val=2
	'ITER_PIPE' val=3
	'ITER_XARRAY' val=4
	'ITER_DISCARD' val=5
	'ITER_UBUF' val=6
`;

test("a pre-6.4 struct iov_iter: fields found through anonymous unions, the enum's own numbers", () => {
  assert.deepEqual(fields(iovIterLayout(new KernelBtf(OLD_LAYOUT))), {
    type: 0, count: 16, ptr: 24, consumed: 8, nrSegs: 32, ubuf: 6, iovec: 0, kvec: 1, ok: 1,
  });
});

test("a kernel whose BTF lacks a field gets ok = 0, so iov_iter arguments carry no bytes", () => {
  const b = iovIterLayout(new KernelBtf(OLD_LAYOUT.replace("'nr_segs'", "'segments'")));
  assert.equal(fields(b).ok, 0);
  assert.equal(iovIterLayout(new KernelBtf("")).readUInt8(L.ok), 0);
});
