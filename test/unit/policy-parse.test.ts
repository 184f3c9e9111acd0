/** Policy documents: schema, defaults, normalization, semantic checks and the bad-document corpus. */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  crdOpenAPIV3Schema,
  isPolicyError,
  parsePolicy,
  parsePolicyObject,
  PolicyError,
  tracingPolicySchema,
  type SchemaNode,
  type TracingPolicy,
} from "../../src/policy";

/**
 * test/fixtures/policies, searched upward from this file (source tree or dist/), then from the
 * working directory, then from the real location of node_modules (for a build outside the tree
 * whose node_modules is a symlink to the project's).
 */
function fixturesDir(): string {
  const starts = [__dirname, process.cwd()];
  try {
    starts.push(path.dirname(fs.realpathSync(require.resolve("yaml/package.json"))));
  } catch {
    // no yaml: ignore
  }
  for (const start of starts) {
    for (let dir = start; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, "test", "fixtures", "policies");
      if (fs.existsSync(path.join(candidate, "good")) && fs.existsSync(path.join(candidate, "bad"))) return candidate;
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new Error(`test/fixtures/policies not found above ${starts.join(", ")}`);
}

const FIXTURES = fixturesDir();
const read = (sub: string, f: string): string => fs.readFileSync(path.join(FIXTURES, sub, f), "utf8");
const yamlFiles = (sub: string): string[] =>
  fs.readdirSync(path.join(FIXTURES, sub)).filter((f) => f.endsWith(".yaml")).sort();

function good(name: string): TracingPolicy {
  return parsePolicy(read("good", name), name);
}

function rejected(text: string, opts?: Parameters<typeof parsePolicy>[2]): PolicyError {
  try {
    parsePolicy(text, "inline", opts);
  } catch (e) {
    assert.ok(isPolicyError(e), `expected a PolicyError, got ${String(e)}`);
    return e as PolicyError;
  }
  assert.fail("document was accepted");
}

const BASE = `apiVersion: cilium.io/v1alpha1
kind: TracingPolicy
metadata:
  name: t
`;

// ---- good documents ---------------------------------------------------------------------------

test("every good fixture parses", () => {
  const files = yamlFiles("good");
  assert.ok(files.length >= 12, `only ${files.length} good fixtures`);
  for (const f of files) {
    const tp = good(f);
    assert.equal(tp.apiVersion, "cilium.io/v1alpha1", f);
    assert.ok(tp.metadata.name.length > 0, f);
    for (const k of tp.spec.kprobes ?? []) {
      assert.equal(typeof k.syscall, "boolean", `${f}: syscall default`);
      assert.equal(typeof k.return, "boolean", `${f}: return default`);
      for (const a of [...(k.args ?? []), ...(k.data ?? [])]) assert.equal(typeof a.type, "string", f);
    }
  }
});

test("defaults: syscall true, return false, arg type auto, flags false", () => {
  const tp = good("15-aliases.yaml");
  const k = tp.spec.kprobes![0];
  assert.equal(k.syscall, true);
  assert.equal(k.return, false);
  assert.deepEqual(k.args![1], { index: 1, type: "auto", resolve: "", returnCopy: false, maxData: false });
  const cap = k.selectors![0].matchCapabilities![0];
  assert.equal(cap.isNamespaceCapability, false);
  const tp2 = good("08-ptrace.yaml");
  const pid = tp2.spec.kprobes![0].selectors![0].matchPIDs![0];
  assert.deepEqual(pid, { operator: "NotIn", followForks: true, isNamespacePID: false, values: [1] });
  const tp3 = good("01-openat-etc-passwd.yaml");
  assert.equal(tp3.spec.kprobes![0].selectors![0].matchBinaries![0].followChildren, false);
  const tp4 = good("02-tracepoint-openat.yaml");
  assert.equal(tp4.spec.tracepoints![0].raw, false);
  const tp5 = good("03-uprobe-bash-readline.yaml");
  assert.equal(tp5.spec.uprobes![0].return, true);
  assert.equal(tp5.spec.uprobes![0].returnArg!.type, "string");
});

test("explicit values are kept", () => {
  const tp = good("06-setuid-root.yaml");
  const k = tp.spec.kprobes![0];
  assert.equal(k.call, "sys_setuid");
  assert.equal(k.return, true);
  assert.equal(k.returnArg!.type, "int");
  assert.equal(k.selectors!.length, 2);
  assert.deepEqual(k.selectors![0].matchNamespaces, [{ namespace: "Pid", operator: "NotIn", values: ["host_ns"] }]);
  const w = good("12-write-openat.yaml").spec.kprobes![1];
  assert.equal(w.args![1].sizeArgIndex, 3);
  assert.equal(w.args![1].type, "char_buf");
});

test("operator, action, namespace and capability spellings are normalized", () => {
  const sel = good("15-aliases.yaml").spec.kprobes![0].selectors![0];
  assert.deepEqual(sel.matchArgs!.map((a) => a.operator), ["Equal", "GreaterThan"]);
  assert.equal(sel.matchNamespaces![0].namespace, "Pid");
  assert.equal(sel.matchNamespaces![0].operator, "NotIn");
  assert.equal(sel.matchCapabilities![0].type, "Effective");
  assert.equal(sel.matchCapabilities![0].operator, "In");
  assert.deepEqual(sel.matchCapabilities![0].values, ["CAP_KILL"]);
  assert.equal(sel.matchActions![0].action, "Post");
  const tp = parsePolicy(`${BASE}spec:
  kprobes:
  - call: sys_connect
    args: [{index: 1, type: sockaddr}, {index: 2, type: int}]
    selectors:
    - matchArgs:
      - {index: 1, operator: saddr, values: ["127.0.0.1"]}
      - {index: 1, operator: NotSportPriv}
      - {index: 2, operator: LT, values: ["16"]}
      - {index: 2, operator: neq, values: ["0"]}
`);
  assert.deepEqual(tp.spec.kprobes![0].selectors![0].matchArgs!.map((a) => a.operator), ["SAddr", "NotSPortPriv", "LessThan", "NotEqual"]);
});

test("TracingPolicyNamespaced with pod and container selectors", () => {
  const tp = good("13-namespaced.yaml");
  assert.equal(tp.kind, "TracingPolicyNamespaced");
  assert.equal(tp.metadata.namespace, "default");
  assert.deepEqual(tp.spec.podSelector!.matchLabels, { app: "web" });
  assert.deepEqual(tp.spec.containerSelector!.matchLabels, { name: "nginx" });
});

test("lists, raw_syscalls with syscall64, macros and options", () => {
  const l = good("04-lists-dup-syscalls.yaml");
  assert.equal(l.spec.kprobes![0].call, "list:dups");
  assert.deepEqual(l.spec.lists![0].values, ["sys_dup", "sys_dup2", "sys_dup3"]);
  const r = good("05-raw-syscalls-syscall64.yaml");
  assert.equal(r.spec.tracepoints![0].args![0].type, "syscall64");
  assert.equal(r.spec.tracepoints![0].selectors![0].matchArgs![0].operator, "InMap");
  const c = good("14-connect-macros.yaml");
  assert.deepEqual(c.spec.kprobes![0].selectors![0].macros, ["notInit"]);
  assert.equal(c.spec.selectorsMacros!.notInit.matchPIDs![0].followForks, false);
  assert.deepEqual(c.spec.options, [{ name: "policy-mode", value: "monitor" }, { name: "disable-kprobe-multi", value: "true" }]);
});

test("message longer than 256 bytes is truncated, not rejected", () => {
  const long = "m".repeat(300);
  const tp = parsePolicy(`${BASE}spec:\n  kprobes:\n  - call: sys_openat\n    message: "${long}"\n`);
  assert.equal(tp.spec.kprobes![0].message, "m".repeat(256));
  const utf = "é".repeat(200); // 400 bytes
  const tp2 = parsePolicy(`${BASE}spec:\n  tracepoints:\n  - subsystem: syscalls\n    event: sys_enter_openat\n    message: "${utf}"\n`);
  assert.equal(tp2.spec.tracepoints![0].message, "é".repeat(128));
});

test("numeric operands: hex, octal, negative for signed types, InMap ranges", () => {
  parsePolicy(`${BASE}spec:
  kprobes:
  - call: sys_lseek
    args: [{index: 1, type: int64}, {index: 2, type: uint32}]
    selectors:
    - matchArgs:
      - {index: 1, operator: Equal, values: ["-1", "0x10", "0o17", "017"]}
      - {index: 2, operator: NotInMap, values: ["1", "3:7", "0x10"]}
      - {index: 2, operator: InRange, values: ["0:0xff"]}
`);
});

// ---- the bad-document corpus -----------------------------------------------------------------

interface Expect {
  path: string;
  reason: string;
}

function expectations(text: string): Expect[] {
  return [...text.matchAll(/^# expect: (.*?) \| (.*)$/gm)].map((m) => ({ path: m[1].trim(), reason: m[2].trim() }));
}

test("bad-document corpus: at least 50 documents", () => {
  assert.ok(yamlFiles("bad").length >= 50, `only ${yamlFiles("bad").length} bad documents`);
});

for (const f of yamlFiles("bad")) {
  test(`bad document ${f} is rejected with its path and reason`, () => {
    const text = read("bad", f);
    const exp = expectations(text);
    assert.ok(exp.length > 0, `${f} has no '# expect: PATH | REASON' header`);
    let err: unknown;
    try {
      parsePolicy(text, f);
    } catch (e) {
      err = e;
    }
    assert.ok(err !== undefined, `${f} was accepted`);
    assert.ok(isPolicyError(err), `${f}: not a PolicyError: ${String(err)}`);
    const issues = (err as PolicyError).issues;
    for (const x of exp) {
      assert.ok(
        issues.some((i) => i.path === x.path && i.reason.includes(x.reason)),
        `${f}: expected ${x.path} | ${x.reason}\n  got: ${issues.map((i) => `${i.path} | ${i.reason}`).join("\n       ")}`,
      );
    }
    assert.match((err as PolicyError).message, /rejected: /);
  });
}

// ---- errors -----------------------------------------------------------------------------------

test("PolicyError lists every issue with its path, and lines from the YAML", () => {
  const e = rejected(`${BASE}spec:
  kprobes:
  - call: ""
  - call: sys_openat
    return: true
`);
  assert.equal(e.policyName, "t");
  assert.deepEqual(e.issues.map((i) => [i.path, i.reason, i.line]), [
    ["spec.kprobes[0].call", "must not be empty", 7],
    ["spec.kprobes[1].returnArg", "required when return is true", 8],
  ]);
  assert.equal(
    e.message,
    "policy 't' rejected: spec.kprobes[0].call: must not be empty; spec.kprobes[1].returnArg: required when return is true (source: inline)",
  );
  assert.ok(e instanceof Error);
  assert.equal(isPolicyError(new Error("x")), false);
});

test("all schema problems are reported at once", () => {
  const e = rejected(`${BASE}  extra: 1
spec:
  kprobes:
  - call: 5
    syscall: 1
    bogus: true
`);
  const paths = e.issues.map((i) => i.path).sort();
  assert.deepEqual(paths, ["metadata.extra", "spec.kprobes[0].bogus", "spec.kprobes[0].call", "spec.kprobes[0].syscall"]);
});

test("small BPF programs: one argument filter per selector", () => {
  const text = `${BASE}spec:
  kprobes:
  - call: sys_openat
    args: [{index: 1, type: string}, {index: 2, type: int}]
    selectors:
    - matchArgs:
      - {index: 1, operator: Prefix, values: ["/etc"]}
      - {index: 2, operator: Equal, values: ["0"]}
`;
  parsePolicy(text);
  const e = rejected(text, { largePrograms: false });
  assert.deepEqual(e.issues.map((i) => i.path), ["spec.kprobes[0].selectors[0].matchArgs"]);
  assert.match(e.issues[0].reason, /at most 1 matchArgs/);
});

// ---- objects and schema ----------------------------------------------------------------------

test("parsePolicyObject validates a decoded object without modifying it", () => {
  const obj = {
    apiVersion: "cilium.io/v1alpha1",
    kind: "TracingPolicy",
    metadata: { name: "obj" },
    spec: { kprobes: [{ call: "sys_openat", args: [{ index: 1 }] }] },
  };
  const before = JSON.stringify(obj);
  const tp = parsePolicyObject(obj, "grpc");
  assert.equal(JSON.stringify(obj), before);
  assert.equal(tp.spec.kprobes![0].syscall, true);
  assert.equal(tp.spec.kprobes![0].args![0].type, "auto");
  assert.throws(() => parsePolicyObject({ ...obj, spec: { kprobes: [{}] } }), (e: unknown) =>
    isPolicyError(e) && e.issues[0].path === "spec.kprobes[0].call");
  assert.throws(() => parsePolicyObject("nope"), (e: unknown) => isPolicyError(e) && e.issues[0].path === "<document>");
});

test("the schema is structural and carries Tetragon's defaults", () => {
  const walk = (n: unknown, at: string, f: (node: SchemaNode, at: string) => void): void => {
    if (!n || typeof n !== "object") return;
    const node = n as SchemaNode;
    f(node, at);
    for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${at}.${k}`, f);
    if (node.items) walk(node.items, `${at}[]`, f);
    if (node.additionalProperties && typeof node.additionalProperties === "object") walk(node.additionalProperties, `${at}{}`, f);
  };
  for (const schema of [tracingPolicySchema, crdOpenAPIV3Schema()]) {
    walk(schema, "", (node, at) => {
      assert.ok(typeof node.type === "string", `${at}: every node has a type`);
      assert.equal(node.$ref, undefined, `${at}: no $ref`);
      assert.notEqual(node.additionalProperties, false, `${at}: unknown fields are pruned by Kubernetes, not forbidden`);
      if (node.properties) assert.equal(node.type, "object", at);
    });
  }
  const spec = (tracingPolicySchema.properties as Record<string, SchemaNode>).spec;
  const kprobe = ((spec.properties as Record<string, SchemaNode>).kprobes.items as SchemaNode).properties as Record<string, SchemaNode>;
  assert.equal(kprobe.syscall.default, true);
  assert.equal(kprobe.return.default, false);
  const arg = ((kprobe.args.items as SchemaNode).properties as Record<string, SchemaNode>).type;
  assert.equal(arg.default, "auto");
  assert.ok(Object.isFrozen(tracingPolicySchema));
  assert.deepEqual((crdOpenAPIV3Schema().properties as Record<string, SchemaNode>).metadata, { type: "object" });
});
