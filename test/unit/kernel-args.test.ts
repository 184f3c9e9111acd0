/**
 * The decoders of kernel-object blobs (bpf/events/generic.h) into Tetragon's KprobeArgument
 * variants, on blobs written here byte by byte as the BPF side lays them out; compared as
 * protojson, the form users see.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { create, toJson } from "@bufbuild/protobuf";
import { KprobeArgumentSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { BPF_MAP_BLOB, BPF_PROG_BLOB, CRED_BLOB, GT, MODULE_BLOB, SKB_BLOB, SOCK_BLOB, USER_NS_BLOB } from "../../src/decode/generic-layout";
import { kernelObjectArg } from "../../src/sensors/tracing/kernel-args";

function json(gt: number, blob: Buffer): unknown {
  const arg = kernelObjectArg(gt, blob);
  assert.ok(arg, "decoded");
  return toJson(KprobeArgumentSchema, create(KprobeArgumentSchema, { arg }), { useProtoFieldName: true });
}

test("cred: ids, securebits, capabilities and the user namespace", () => {
  const b = Buffer.alloc(CRED_BLOB.SIZE);
  [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007].forEach((v, i) => b.writeUInt32LE(v, i * 4));
  b.writeUInt32LE(0x10, CRED_BLOB.securebits); // SECBIT_KEEP_CAPS
  b.writeBigUInt64LE(1n << 21n, CRED_BLOB.cap_permitted);
  b.writeBigUInt64LE((1n << 21n) | 1n, CRED_BLOB.cap_effective);
  b.writeUInt32LE(1, CRED_BLOB.user_ns + USER_NS_BLOB.level);
  b.writeUInt32LE(1000, CRED_BLOB.user_ns + USER_NS_BLOB.uid);
  b.writeUInt32LE(1000, CRED_BLOB.user_ns + USER_NS_BLOB.gid);
  b.writeUInt32LE(4026532000, CRED_BLOB.user_ns + USER_NS_BLOB.inum);
  assert.deepEqual(json(GT.CRED, b), {
    process_credentials_arg: {
      uid: 1000, gid: 1001, suid: 1002, sgid: 1003, euid: 1004, egid: 1005, fsuid: 1006, fsgid: 1007,
      securebits: ["SecBitKeepCaps"],
      caps: { permitted: ["CAP_SYS_ADMIN"], effective: ["CAP_CHOWN", "CAP_SYS_ADMIN"] },
      user_ns: { level: 1, uid: 1000, gid: 1000, ns: { inum: 4026532000 } },
    },
  });
});

test("skb: the sock part and the skb's own hash and length", () => {
  const b = Buffer.alloc(SKB_BLOB.SIZE);
  b.writeUInt16LE(2, SOCK_BLOB.family);
  b.writeUInt16LE(5353, SOCK_BLOB.sport);
  b.writeUInt16LE(53, SOCK_BLOB.dport);
  b.writeUInt16LE(17, SOCK_BLOB.protocol);
  b.writeUInt32LE(7, SOCK_BLOB.mark);
  Buffer.from([10, 0, 0, 1]).copy(b, SOCK_BLOB.saddr);
  Buffer.from([10, 0, 0, 53]).copy(b, SOCK_BLOB.daddr);
  b.writeUInt32LE(0xabcd, SKB_BLOB.hash);
  b.writeUInt32LE(128, SKB_BLOB.len);
  assert.deepEqual(json(GT.SKB, b), {
    skb_arg: {
      hash: 0xabcd, len: 128, mark: 7, saddr: "10.0.0.1", daddr: "10.0.0.53", sport: 5353, dport: 53, proto: 17,
      protocol: "IPPROTO_UDP", family: "AF_INET",
    },
  });
});

test("bpf_map, bpf_prog and bpf_attr: types by name, names up to their NUL", () => {
  const m = Buffer.alloc(BPF_MAP_BLOB.SIZE);
  m.writeUInt32LE(1, BPF_MAP_BLOB.map_type);
  m.writeUInt32LE(4, BPF_MAP_BLOB.key_size);
  m.writeUInt32LE(8, BPF_MAP_BLOB.value_size);
  m.writeUInt32LE(1024, BPF_MAP_BLOB.max_entries);
  m.write("execve_map", BPF_MAP_BLOB.name);
  assert.deepEqual(json(GT.BPF_MAP, m), { bpf_map_arg: { MapType: "BPF_MAP_TYPE_HASH", KeySize: 4, ValueSize: 8, MaxEntries: 1024, MapName: "execve_map" } });
  const p = Buffer.alloc(BPF_PROG_BLOB.SIZE);
  p.writeUInt32LE(2, BPF_PROG_BLOB.prog_type);
  p.writeUInt32LE(99, BPF_PROG_BLOB.insn_cnt);
  p.write("generic_kprobe_toolong", BPF_PROG_BLOB.name, 15);
  assert.deepEqual(json(GT.BPF_ATTR, p), { bpf_attr_arg: { ProgType: "BPF_PROG_TYPE_KPROBE", InsnCnt: 99, ProgName: "generic_kprobe_" } });
  assert.deepEqual(json(GT.BPF_PROG, p), { bpf_prog_arg: { ProgType: "BPF_PROG_TYPE_KPROBE", InsnCnt: 99, ProgName: "generic_kprobe_" } });
});

test("module: name, an unknown signature left out, taints by name", () => {
  const b = Buffer.alloc(MODULE_BLOB.SIZE);
  b.write("nf_tables", MODULE_BLOB.name);
  b.writeUInt32LE(2, MODULE_BLOB.sig_ok);
  b.writeBigUInt64LE((1n << 12n) | (1n << 13n), MODULE_BLOB.taints);
  assert.deepEqual(json(GT.MODULE, b), { module_arg: { name: "nf_tables", tainted: ["TAINT_OUT_OF_TREE_MODULE", "TAINT_UNSIGNED_MODULE"] } });
  b.writeUInt32LE(1, MODULE_BLOB.sig_ok);
  assert.equal((json(GT.LOAD_INFO, b) as { module_arg: { signature_ok: boolean } }).module_arg.signature_ok, true);
});

test("a blob shorter than its layout (a failed read) decodes to nothing", () => {
  assert.equal(kernelObjectArg(GT.CRED, Buffer.alloc(4)), undefined);
  assert.equal(kernelObjectArg(GT.SKB, Buffer.alloc(SKB_BLOB.SIZE - 1)), undefined);
});
