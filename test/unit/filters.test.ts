// Tests for src/filters: Filter predicates (AND within a filter, OR within a
// field), allow/deny lists, pid_set tracking, JSON-lines parsing, field
// filters and redaction (neither may mutate the shared input event).

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { clone, create, equals, fromBinary, toBinary, toJson, type MessageInitShape } from "@bufbuild/protobuf";

import {
  EventType,
  FieldFilterAction,
  FieldFilterSchema,
  FilterSchema,
  GetEventsResponseSchema,
  RedactionFilterSchema,
  type GetEventsResponse,
} from "../../src/api/gen/tetragon/events_pb";
import { ProcessSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { CapabilitiesType } from "../../src/api/gen/tetragon/capabilities_pb";
import {
  FilterError,
  PidSetTracker,
  compileEventFilter,
  compileFieldFilters,
  compileFilter,
  compileFilterList,
  compileRedactionFilters,
  eventAncestors,
  eventParent,
  eventPolicyName,
  eventProcess,
  eventTypeOf,
  isFilterError,
  parseFieldFilterLines,
  parseFilterLines,
  parseLabelSelector,
  parseRedactionFilterLines,
  redactString,
  translateRe2,
} from "../../src/filters";

// ---- fixtures ------------------------------------------------------------------

type ProcInit = MessageInitShape<typeof ProcessSchema>;
type FilterInit = MessageInitShape<typeof FilterSchema>;

const CURL: ProcInit = {
  execId: "curl-1",
  pid: 4242,
  binary: "/usr/bin/curl",
  arguments: "-s https://example.com --password hunter2",
  docker: "19a02291e106ce6227b684197be232e",
  inInitTree: false,
  pod: {
    namespace: "default",
    name: "xwing-7d9f",
    container: {
      id: "containerd://19a02291e106ce6227b684197be232ea57c4e1a5ab2604a12608c325d701c7f4",
      name: "spaceship",
      maybeExecProbe: false,
    },
    podLabels: { app: "xwing", class: "fighter", tier: "3" },
  },
  cap: {
    permitted: [CapabilitiesType.CAP_CHOWN, CapabilitiesType.CAP_NET_RAW],
    effective: [CapabilitiesType.CAP_NET_RAW],
    inheritable: [],
  },
};

const BASH: ProcInit = {
  execId: "bash-1",
  pid: 4000,
  binary: "/bin/bash",
  arguments: "-c 'curl --token abc'",
  pod: CURL.pod,
};

const SHIM: ProcInit = { execId: "shim-1", pid: 100, binary: "/usr/bin/containerd-shim-runc-v2", arguments: "-id abc" };

function exec(process: ProcInit, parent?: ProcInit, ancestors: ProcInit[] = []): GetEventsResponse {
  return create(GetEventsResponseSchema, {
    event: { case: "processExec", value: { process, parent, ancestors } },
    nodeName: "node-1",
    time: { seconds: 1000n, nanos: 5 },
  });
}

function exit(process: ProcInit, parent?: ProcInit): GetEventsResponse {
  return create(GetEventsResponseSchema, {
    event: { case: "processExit", value: { process, parent, signal: "SIGKILL" } },
    nodeName: "node-1",
  });
}

function kprobe(process: ProcInit, policyName: string, parent?: ProcInit): GetEventsResponse {
  return create(GetEventsResponseSchema, {
    event: {
      case: "processKprobe",
      value: { process, parent, functionName: "__x64_sys_write", policyName, args: [{ arg: { case: "intArg", value: 3 } }] },
    },
    nodeName: "node-1",
  });
}

const throttle = create(GetEventsResponseSchema, {
  event: { case: "processThrottle", value: { cgroup: "/sys/fs/cgroup/x" } },
});

function f(init: FilterInit) {
  return create(FilterSchema, init);
}

function m(init: FilterInit, ev: GetEventsResponse): boolean {
  return compileFilter(f(init))(ev);
}

function hostProc(p: ProcInit): ProcInit {
  return { ...p, pod: undefined };
}

function assertFilterError(fn: () => unknown, re: RegExp, field?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(isFilterError(e), `expected FilterError, got ${String(e)}`);
    assert.ok(e instanceof FilterError);
    assert.match(e.message, re);
    if (field !== undefined) assert.equal(e.field, field);
    return true;
  });
}

// ---- event field accessors ------------------------------------------------------

describe("event-fields", () => {
  test("process / parent / ancestors / policy name / type", () => {
    const ev = exec(CURL, BASH, [SHIM]);
    assert.equal(eventProcess(ev)?.binary, "/usr/bin/curl");
    assert.equal(eventParent(ev)?.binary, "/bin/bash");
    assert.deepEqual(eventAncestors(ev).map((a) => a.pid), [100]);
    assert.equal(eventTypeOf(ev), EventType.PROCESS_EXEC);
    const k = kprobe(CURL, "write-policy");
    assert.equal(eventPolicyName(k), "write-policy");
    assert.equal(eventTypeOf(k), EventType.PROCESS_KPROBE);
    assert.equal(eventPolicyName(ev), "");
    assert.equal(eventProcess(throttle), undefined);
    assert.equal(eventParent(throttle), undefined);
    assert.equal(eventAncestors(throttle).length, 0);
    assert.equal(eventTypeOf(throttle), EventType.PROCESS_THROTTLE);
    assert.equal(eventTypeOf(create(GetEventsResponseSchema)), EventType.UNDEF);
  });
});

// ---- predicates -----------------------------------------------------------------

describe("predicates", () => {
  const ev = exec(CURL, BASH, [SHIM]);

  test("empty filter matches everything", () => {
    assert.equal(m({}, ev), true);
    assert.equal(m({}, throttle), true);
  });

  test("binary_regex", () => {
    assert.equal(m({ binaryRegex: ["^/usr/bin/curl$"] }, ev), true);
    assert.equal(m({ binaryRegex: ["wget", "curl"] }, ev), true); // OR
    assert.equal(m({ binaryRegex: ["^curl"] }, ev), false);
    assert.equal(m({ binaryRegex: ["."] }, throttle), false); // no process
  });

  test("namespace (\"\" = host)", () => {
    assert.equal(m({ namespace: ["default"] }, ev), true);
    assert.equal(m({ namespace: ["kube-system"] }, ev), false);
    assert.equal(m({ namespace: [""] }, ev), false);
    const host = exec(hostProc(CURL));
    assert.equal(m({ namespace: [""] }, host), true);
    assert.equal(m({ namespace: ["default"] }, host), false);
    assert.equal(m({ namespace: ["", "cilium", "kube-system"] }, host), true);
    assert.equal(m({ namespace: [""] }, throttle), false);
  });

  test("pid", () => {
    assert.equal(m({ pid: [1, 4242] }, ev), true);
    assert.equal(m({ pid: [4000] }, ev), false); // parent pid does not count
  });

  test("event_set", () => {
    assert.equal(m({ eventSet: [EventType.PROCESS_EXEC] }, ev), true);
    assert.equal(m({ eventSet: [EventType.PROCESS_EXIT, EventType.PROCESS_KPROBE] }, ev), false);
    assert.equal(m({ eventSet: [EventType.PROCESS_EXIT, EventType.PROCESS_KPROBE] }, kprobe(CURL, "p")), true);
    assert.equal(m({ eventSet: [EventType.PROCESS_THROTTLE] }, throttle), true);
  });

  test("pod_regex / namespace_regex / container_name_regex", () => {
    assert.equal(m({ podRegex: ["^xwing-"] }, ev), true);
    assert.equal(m({ podRegex: ["^tiefighter"] }, ev), false);
    assert.equal(m({ namespaceRegex: ["^def"] }, ev), true);
    assert.equal(m({ namespaceRegex: ["^kube-"] }, ev), false);
    assert.equal(m({ containerNameRegex: ["^space"] }, ev), true);
    assert.equal(m({ containerNameRegex: ["^ship"] }, ev), false);
    const host = exec(hostProc(CURL));
    assert.equal(m({ podRegex: [".*"] }, host), false);
    assert.equal(m({ namespaceRegex: [".*"] }, host), false);
    assert.equal(m({ containerNameRegex: [".*"] }, host), false);
  });

  test("arguments_regex / parent_arguments_regex", () => {
    assert.equal(m({ argumentsRegex: ["example\\.com"] }, ev), true);
    assert.equal(m({ argumentsRegex: ["^-c"] }, ev), false);
    assert.equal(m({ parentArgumentsRegex: ["^-c"] }, ev), true);
    assert.equal(m({ parentArgumentsRegex: ["example"] }, ev), false);
    assert.equal(m({ parentArgumentsRegex: [".*"] }, exec(CURL)), false); // no parent
  });

  test("parent_binary_regex / ancestor_binary_regex", () => {
    assert.equal(m({ parentBinaryRegex: ["bash$"] }, ev), true);
    assert.equal(m({ parentBinaryRegex: ["curl"] }, ev), false);
    assert.equal(m({ parentBinaryRegex: [".*"] }, exec(CURL)), false);
    assert.equal(m({ ancestorBinaryRegex: ["containerd-shim"] }, ev), true);
    assert.equal(m({ ancestorBinaryRegex: ["bash"] }, ev), false);
    assert.equal(m({ ancestorBinaryRegex: [".*"] }, exec(CURL, BASH)), false); // no ancestors
  });

  test("container_id matches process.docker or pod.container.id", () => {
    assert.equal(m({ containerId: ["^19a02291"] }, ev), true);
    assert.equal(m({ containerId: ["^containerd://19a0"] }, ev), true);
    assert.equal(m({ containerId: ["d701c7f4$"] }, ev), true);
    assert.equal(m({ containerId: ["^deadbeef"] }, ev), false);
  });

  test("in_init_tree", () => {
    assert.equal(m({ inInitTree: false }, ev), true);
    assert.equal(m({ inInitTree: true }, ev), false);
    assert.equal(m({ inInitTree: true }, exec({ ...CURL, inInitTree: true })), true);
    assert.equal(m({ inInitTree: false }, exec({ ...CURL, inInitTree: undefined })), true); // unset = false
  });

  test("health_check (maybe_exec_probe on process or parent)", () => {
    const probePod: ProcInit["pod"] = {
      namespace: "default",
      name: "db-0",
      container: { id: "containerd://abc", name: "db", maybeExecProbe: true },
    };
    const probe = exec({ ...CURL, pod: probePod });
    const probeChild = exec(CURL, { ...BASH, pod: probePod });
    assert.equal(m({ healthCheck: true }, probe), true);
    assert.equal(m({ healthCheck: true }, probeChild), true);
    assert.equal(m({ healthCheck: true }, ev), false);
    assert.equal(m({ healthCheck: false }, ev), true);
    assert.equal(m({ healthCheck: false }, probe), false);
  });

  test("policy_names", () => {
    assert.equal(m({ policyNames: ["write-policy"] }, kprobe(CURL, "write-policy")), true);
    assert.equal(m({ policyNames: ["other"] }, kprobe(CURL, "write-policy")), false);
    assert.equal(m({ policyNames: ["write-policy"] }, ev), false); // exec has no policy
  });

  test("labels", () => {
    assert.equal(m({ labels: ["app=xwing"] }, ev), true);
    assert.equal(m({ labels: ["app==xwing,class=fighter"] }, ev), true); // comma = AND
    assert.equal(m({ labels: ["app=xwing,class=bomber"] }, ev), false);
    assert.equal(m({ labels: ["app=tie", "class=fighter"] }, ev), true); // list = OR
    assert.equal(m({ labels: ["app!=tie"] }, ev), true);
    assert.equal(m({ labels: ["app!=xwing"] }, ev), false);
    assert.equal(m({ labels: ["missing!=x"] }, ev), true);
    assert.equal(m({ labels: ["app in (tie, xwing)"] }, ev), true);
    assert.equal(m({ labels: ["app in (tie)"] }, ev), false);
    assert.equal(m({ labels: ["app notin (tie)"] }, ev), true);
    assert.equal(m({ labels: ["app notin (tie,xwing)"] }, ev), false);
    assert.equal(m({ labels: ["class"] }, ev), true);
    assert.equal(m({ labels: ["missing"] }, ev), false);
    assert.equal(m({ labels: ["!missing"] }, ev), true);
    assert.equal(m({ labels: ["!class"] }, ev), false);
    assert.equal(m({ labels: ["tier>2"] }, ev), true);
    assert.equal(m({ labels: ["tier<3"] }, ev), false);
    assert.equal(m({ labels: ["constructor"] }, ev), false); // no prototype leaks
    assert.equal(m({ labels: [""] }, ev), true); // empty selector selects every pod
    assert.equal(m({ labels: [""] }, exec(hostProc(CURL))), false); // but needs a pod
  });

  test("label selector parser", () => {
    assert.deepEqual(parseLabelSelector(" a = b , !c,d in (x, y),e notin (z), f"), [
      { key: "a", op: "=", values: ["b"] },
      { key: "c", op: "!", values: [] },
      { key: "d", op: "in", values: ["x", "y"] },
      { key: "e", op: "notin", values: ["z"] },
      { key: "f", op: "exists", values: [] },
    ]);
    assert.deepEqual(parseLabelSelector("app.kubernetes.io/name=xwing"), [
      { key: "app.kubernetes.io/name", op: "=", values: ["xwing"] },
    ]);
    assert.deepEqual(parseLabelSelector("a="), [{ key: "a", op: "=", values: [""] }]);
    assert.throws(() => parseLabelSelector("a in x"), /expected: '\('/);
    assert.throws(() => parseLabelSelector("a in (x"), /expected/);
    assert.throws(() => parseLabelSelector("!a=b"), /expected/);
    assert.throws(() => parseLabelSelector("a b"), /expected/);
    assert.throws(() => parseLabelSelector("-bad=1"), /invalid label key/);
    assert.throws(() => parseLabelSelector("a>x"), /integer/);
    assert.throws(() => parseLabelSelector("a,"), /identifier/);
  });

  test("capabilities any / all / exactly / none", () => {
    const C = CapabilitiesType;
    assert.equal(m({ capabilities: { permitted: { any: [C.CAP_SYS_ADMIN, C.CAP_NET_RAW] } } }, ev), true);
    assert.equal(m({ capabilities: { permitted: { any: [C.CAP_SYS_ADMIN] } } }, ev), false);
    assert.equal(m({ capabilities: { permitted: { all: [C.CAP_CHOWN, C.CAP_NET_RAW] } } }, ev), true);
    assert.equal(m({ capabilities: { permitted: { all: [C.CAP_CHOWN, C.CAP_SYS_ADMIN] } } }, ev), false);
    assert.equal(m({ capabilities: { effective: { exactly: [C.CAP_NET_RAW] } } }, ev), true);
    assert.equal(m({ capabilities: { permitted: { exactly: [C.CAP_NET_RAW] } } }, ev), false);
    assert.equal(m({ capabilities: { inheritable: { none: [C.CAP_SYS_ADMIN] } } }, ev), true);
    assert.equal(m({ capabilities: { effective: { none: [C.CAP_NET_RAW] } } }, ev), false);
    // bits above 31 (CAP_CHECKPOINT_RESTORE = 40)
    const hi = exec({ ...CURL, cap: { permitted: [C.CAP_CHECKPOINT_RESTORE], effective: [], inheritable: [] } });
    assert.equal(m({ capabilities: { permitted: { any: [C.CAP_CHECKPOINT_RESTORE] } } }, hi), true);
    assert.equal(m({ capabilities: { permitted: { exactly: [C.CAP_CHECKPOINT_RESTORE] } } }, hi), true);
    assert.equal(m({ capabilities: { permitted: { none: [C.CAP_CHECKPOINT_RESTORE] } } }, hi), false);
    // all sets must match
    assert.equal(
      m({ capabilities: { permitted: { any: [C.CAP_CHOWN] }, effective: { none: [C.CAP_NET_RAW] } } }, ev),
      false,
    );
    // no cap info never matches
    assert.equal(m({ capabilities: { permitted: { none: [C.CAP_SYS_ADMIN] } } }, exec({ ...CURL, cap: undefined })), false);
    assertFilterError(
      () => compileFilter(f({ capabilities: { permitted: { any: [C.CAP_CHOWN], none: [C.CAP_NET_RAW] } } })),
      /capabilities\.permitted: capability filter may only define one match set, got: any, none/,
      "capabilities.permitted",
    );
    assertFilterError(
      () => compileFilter(f({ capabilities: { effective: {} } })),
      /capabilities\.effective: capability filter must define exactly one match set/,
    );
  });

  test("cel_expression is rejected", () => {
    assertFilterError(
      () => compileFilter(f({ celExpression: ["process.pid == 1"] })),
      /cel_expression\[0\]: CEL expressions are not supported/,
      "cel_expression[0]",
    );
    assertFilterError(
      () => compileFilterList([f({}), f({ celExpression: ["true"] })], "deny"),
      /^deny_list\[1\]\.cel_expression\[0\]: CEL expressions are not supported/,
    );
  });
});

// ---- combination ------------------------------------------------------------------

describe("AND / OR and allow / deny", () => {
  const ev = exec(CURL, BASH);
  const other = exec({ ...CURL, binary: "/usr/bin/wget", pid: 7 }, BASH);

  test("fields of one filter are ANDed", () => {
    assert.equal(m({ binaryRegex: ["curl"], namespace: ["default"] }, ev), true);
    assert.equal(m({ binaryRegex: ["curl"], namespace: ["kube-system"] }, ev), false);
    assert.equal(m({ binaryRegex: ["curl"], eventSet: [EventType.PROCESS_EXIT] }, ev), false);
    assert.equal(
      m(
        {
          binaryRegex: ["curl"],
          pid: [4242],
          eventSet: [EventType.PROCESS_EXEC],
          parentBinaryRegex: ["bash"],
          labels: ["app=xwing"],
          podRegex: ["xwing"],
        },
        ev,
      ),
      true,
    );
  });

  test("allow list: empty passes all, otherwise any", () => {
    assert.equal(compileFilterList([], "allow")(ev), true);
    const allow = compileFilterList([f({ binaryRegex: ["nomatch"] }), f({ pid: [4242] })], "allow");
    assert.equal(allow(ev), true);
    assert.equal(allow(other), false);
  });

  test("deny list: passes when none matches", () => {
    assert.equal(compileFilterList([], "deny")(ev), true);
    const deny = compileFilterList([f({ binaryRegex: ["wget"] }), f({ namespace: ["kube-system"] })], "deny");
    assert.equal(deny(ev), true);
    assert.equal(deny(other), false);
  });

  test("compileEventFilter = (allow empty || any allow) && no deny", () => {
    assert.equal(compileEventFilter([], [])(ev), true);
    const onlyDeny = compileEventFilter([], [f({ binaryRegex: ["wget"] })]);
    assert.equal(onlyDeny(ev), true);
    assert.equal(onlyDeny(other), false);
    const both = compileEventFilter(
      [f({ eventSet: [EventType.PROCESS_EXEC, EventType.PROCESS_EXIT] })],
      [f({ binaryRegex: ["wget"] }), f({ healthCheck: true })],
    );
    assert.equal(both(ev), true);
    assert.equal(both(other), false);
    assert.equal(both(kprobe(CURL, "p")), false);
    assert.equal(both(exit(CURL, BASH)), true);
    // Helm default: deny host + system namespaces
    const helm = compileEventFilter([], [f({ healthCheck: true }), f({ namespace: ["", "cilium", "kube-system"] })]);
    assert.equal(helm(ev), true);
    assert.equal(helm(exec(hostProc(CURL))), false);
  });

  test("errors name the list and index", () => {
    assertFilterError(
      () => compileEventFilter([f({}), f({ binaryRegex: ["ok", "("] })], []),
      /^allow_list\[1\]\.binary_regex\[1\]: invalid regex "\(": /,
      "allow_list[1].binary_regex[1]",
    );
    assertFilterError(
      () => compileEventFilter([], [f({ labels: ["a in"] })]),
      /^deny_list\[0\]\.labels\[0\]: invalid label selector "a in": /,
      "deny_list[0].labels[0]",
    );
  });
});

// ---- pid_set ------------------------------------------------------------------

describe("pid_set", () => {
  const p = (pid: number, binary = "/bin/x"): ProcInit => ({ pid, binary, execId: `e${pid}` });

  test("matches the listed pid and follows descendants", () => {
    const match = compileFilter(f({ pidSet: [10] }));
    assert.equal(match(exec(p(10), p(1))), true);
    assert.equal(match(exec(p(20), p(1))), false); // unrelated
    assert.equal(match(exec(p(11), p(10))), true); // child joins
    assert.equal(match(exec(p(12), p(11))), true); // grandchild via learned child
    assert.equal(match(kprobe(p(12), "pol", p(11))), true);
    assert.equal(match(kprobe(p(13), "pol", p(99))), false);
    assert.equal(match(exec(p(21), p(20))), false);
  });

  test("learns via ancestors when the parent is not tracked", () => {
    const match = compileFilter(f({ pidSet: [1] }));
    assert.equal(match(exec(p(30), p(20), [p(20), p(1)])), true);
    assert.equal(match(exec(p(31), p(30))), true);
  });

  test("learning is not hidden by other predicates or other list entries", () => {
    // The exec of the child is not a kprobe, so the filter does not match it,
    // but the child must still be learned for its later kprobe events.
    const match = compileFilter(f({ pidSet: [10], eventSet: [EventType.PROCESS_KPROBE] }));
    assert.equal(match(exec(p(11), p(10))), false);
    assert.equal(match(kprobe(p(11), "pol", p(10))), true);
    assert.equal(match(kprobe(p(12), "pol", p(11))), true);
    const ef = compileEventFilter([f({ binaryRegex: ["^/first$"] }), f({ pidSet: [10] })], []);
    assert.equal(ef(exec(p(11, "/first"), p(10))), true); // matched by allow_list[0]
    assert.equal(ef(exec(p(12), p(11))), true); // 11 was still learned
  });

  test("forgets a learned child after its exit, never a listed pid", () => {
    const match = compileFilter(f({ pidSet: [10] }));
    assert.equal(match(exec(p(11), p(10))), true);
    assert.equal(match(exit(p(11), p(10))), true); // the exit itself matches
    assert.equal(match(exec(p(11), p(50))), false); // pid reused by an unrelated process
    assert.equal(match(exit(p(10), p(1))), true);
    assert.equal(match(exec(p(10), p(1))), true);
  });

  test("learned set is bounded", () => {
    const t = new PidSetTracker([1], 3);
    for (let pid = 2; pid < 10; pid++) t.observe(exec(p(pid), p(1)), eventProcess(exec(p(pid), p(1))));
    assert.equal(t.learned, 3);
    assert.equal(t.tracked(1), true);
    assert.equal(t.tracked(2), false); // oldest evicted
    assert.equal(t.tracked(9), true);
  });
});

// ---- regex translation ------------------------------------------------------------

describe("RE2 approximation", () => {
  test("translations", () => {
    assert.deepEqual(translateRe2("(?i)^/USR/bin/(?P<name>\\w+)$"), { source: "^/USR/bin/(?<name>\\w+)$", flags: "i" });
    assert.equal(m({ binaryRegex: ["(?i)^/USR/BIN/CURL$"] }, exec(CURL)), true);
    assert.equal(m({ binaryRegex: ["\\A/usr/bin/curl\\z"] }, exec(CURL)), true);
    assert.equal(m({ binaryRegex: ["^/usr/bin/[[:alpha:]]+$"] }, exec(CURL)), true);
    assert.equal(m({ binaryRegex: ["^/usr/bin/[[:digit:]]+$"] }, exec(CURL)), false);
    assert.equal(m({ binaryRegex: ["\\Q/usr/bin/\\E"] }, exec(CURL)), true);
    assert.equal(m({ binaryRegex: ["[]x]"] }, exec({ ...CURL, binary: "/a]" })), true);
  });

  test("RE2-unsupported syntax is rejected", () => {
    assertFilterError(() => compileFilter(f({ binaryRegex: ["foo(?=bar)"] })), /binary_regex\[0\]: invalid regex .*lookaround/);
    assertFilterError(() => compileFilter(f({ argumentsRegex: ["(a)\\1"] })), /arguments_regex\[0\]: invalid regex .*backreferences/);
    assertFilterError(() => compileFilter(f({ podRegex: ["(?U)a+"] })), /pod_regex\[0\]: invalid regex .*ungreedy/);
    assertFilterError(() => compileFilter(f({ containerId: ["[a-"] })), /container_id\[0\]: invalid regex "\[a-"/);
  });

  test("every regex field reports its path", () => {
    const fields: Array<[keyof FilterInit, string]> = [
      ["binaryRegex", "binary_regex"],
      ["podRegex", "pod_regex"],
      ["argumentsRegex", "arguments_regex"],
      ["parentBinaryRegex", "parent_binary_regex"],
      ["parentArgumentsRegex", "parent_arguments_regex"],
      ["containerId", "container_id"],
      ["ancestorBinaryRegex", "ancestor_binary_regex"],
      ["containerNameRegex", "container_name_regex"],
      ["namespaceRegex", "namespace_regex"],
    ];
    for (const [key, name] of fields) {
      assertFilterError(
        () => compileFilterList([f({ [key]: ["ok", "("] } as FilterInit)], "allow"),
        new RegExp(`^allow_list\\[0\\]\\.${name}\\[1\\]: invalid regex "\\(": `),
        `allow_list[0].${name}[1]`,
      );
    }
  });
});

// ---- JSON-lines parsing ---------------------------------------------------------------

describe("parseFilterLines", () => {
  test("parses protojson filters, ignores blank lines", () => {
    const text = [
      '{"event_set":["PROCESS_EXEC","PROCESS_EXIT"]}',
      "",
      '  {"binary_regex":["^/usr/bin/curl$"]}  ',
      '{"namespace":[""]}',
      '{"pid_set":[123]}',
      '{"health_check":true}',
      '{"capabilities":{"permitted":{"any":["CAP_SYS_ADMIN"]}}}',
      '{"labels":["app in (a,b)"], "podRegex":["x"]}',
      "",
    ].join("\n");
    const filters = parseFilterLines(text, "--export-allowlist");
    assert.equal(filters.length, 7);
    assert.deepEqual(filters[0].eventSet, [EventType.PROCESS_EXEC, EventType.PROCESS_EXIT]);
    assert.deepEqual(filters[1].binaryRegex, ["^/usr/bin/curl$"]);
    assert.deepEqual(filters[2].namespace, [""]);
    assert.deepEqual(filters[3].pidSet, [123]);
    assert.equal(filters[4].healthCheck, true);
    assert.deepEqual(filters[5].capabilities?.permitted?.any, [CapabilitiesType.CAP_SYS_ADMIN]);
    assert.deepEqual(filters[6].podRegex, ["x"]);
    assert.deepEqual(parseFilterLines("", "--export-denylist"), []);
    assert.deepEqual(parseFilterLines("\n  \n", "--export-denylist"), []);
  });

  test("multi-line objects are accepted and keep line numbers", () => {
    const text = '{\n  "event_set": ["PROCESS_EXEC"]\n}\n{"binary_regex": ["("]}';
    assertFilterError(() => parseFilterLines(text, "--export-allowlist"), /^--export-allowlist line 4: binary_regex\[0\]: invalid regex "\("/, "binary_regex[0]");
  });

  test("errors carry flag name and line number", () => {
    assertFilterError(
      () => parseFilterLines('{"event_set":["PROCESS_EXEC"]}\n{"binary_regex":["("]}', "--export-allowlist"),
      /^--export-allowlist line 2: binary_regex\[0\]: invalid regex "\(": /,
    );
    assertFilterError(
      () => parseFilterLines('{"event_set":["PROCESS_EXEC"]}\n\n{"bogus_field":1}', "--export-denylist"),
      /^--export-denylist line 3: .*bogus_field/,
    );
    assertFilterError(() => parseFilterLines('{"event_set":["NOPE"]}', "--export-allowlist"), /^--export-allowlist line 1: /);
    assertFilterError(() => parseFilterLines('{"pid":[1]}\n{"pid": [1,]}', "--export-allowlist"), /^--export-allowlist line 2: invalid JSON/);
    assertFilterError(() => parseFilterLines('{"pid":[1]}\n{"pid": [1]', "--export-allowlist"), /^--export-allowlist line 2: unexpected end of input/);
    assertFilterError(() => parseFilterLines('\n["PROCESS_EXEC"]', "--export-allowlist"), /^--export-allowlist line 2: expected a JSON object/);
    assertFilterError(() => parseFilterLines("nonsense", "--export-allowlist"), /^--export-allowlist line 1: invalid JSON/);
    assertFilterError(() => parseFilterLines('{"cel_expression":["true"]}', "--export-allowlist"), /^--export-allowlist line 1: cel_expression\[0\]: CEL expressions are not supported/);
    assertFilterError(
      () => parseFilterLines('{"pid_set":[1]}', "--export-allowlist", { enablePidSetFilter: false }),
      /^--export-allowlist line 1: pidSet filters use a best-effort approach.*--enable-pid-set-filter/,
    );
  });

  test("parsed filters compile and match", () => {
    const allow = parseFilterLines('{"event_set":["PROCESS_EXEC"]}', "--export-allowlist");
    const deny = parseFilterLines('{"binary_regex":["wget"]}\n{"namespace":["kube-system"]}', "--export-denylist");
    const ef = compileEventFilter(allow, deny);
    assert.equal(ef(exec(CURL)), true);
    assert.equal(ef(exec({ ...CURL, binary: "/usr/bin/wget" })), false);
    assert.equal(ef(exit(CURL)), false);
  });
});

// ---- field filters -------------------------------------------------------------------

function ff(eventSet: EventType[], paths: string[], action: FieldFilterAction, invert?: boolean) {
  return create(FieldFilterSchema, { eventSet, fields: { paths }, action, invertEventSet: invert });
}

function snapshot(ev: GetEventsResponse) {
  return clone(GetEventsResponseSchema, ev);
}

describe("field filters", () => {
  test("INCLUDE keeps only the listed paths, leaves the input alone", () => {
    const ev = exec(CURL, BASH, [SHIM]);
    const before = snapshot(ev);
    const apply = compileFieldFilters([ff([], ["process.binary", "process.pod.name", "parent"], FieldFilterAction.INCLUDE)]);
    const out = apply(ev);
    assert.ok(equals(GetEventsResponseSchema, ev, before), "input mutated");
    assert.notEqual(out, ev);
    assert.deepEqual(toJson(GetEventsResponseSchema, out), {
      processExec: {
        process: { binary: "/usr/bin/curl", pod: { name: "xwing-7d9f" } },
        parent: toJson(ProcessSchema, create(ProcessSchema, BASH)),
      },
      nodeName: "node-1",
      time: "1970-01-01T00:16:40.000000005Z",
    });
    // the included parent is shared, not copied
    assert.equal(eventParent(out), eventParent(ev));
    // the pruned event is a well-formed message (same as one built with create())
    const expected = create(GetEventsResponseSchema, {
      event: {
        case: "processExec",
        value: { process: { binary: "/usr/bin/curl", pod: { name: "xwing-7d9f" } }, parent: BASH },
      },
      nodeName: "node-1",
      time: { seconds: 1000n, nanos: 5 },
    });
    assert.ok(equals(GetEventsResponseSchema, out, expected));
    assert.deepEqual(fromBinary(GetEventsResponseSchema, toBinary(GetEventsResponseSchema, out)), expected);
    assert.deepEqual(eventProcess(out), create(ProcessSchema, { binary: "/usr/bin/curl", pod: { name: "xwing-7d9f" } }));
  });

  test("EXCLUDE clears paths, copies only along them", () => {
    const ev = exec(CURL, BASH, [SHIM]);
    const before = snapshot(ev);
    const apply = compileFieldFilters([
      ff([], ["parent", "process.pod.pod_labels", "process.pid", "ancestors.arguments"], FieldFilterAction.EXCLUDE),
    ]);
    const out = apply(ev);
    assert.ok(equals(GetEventsResponseSchema, ev, before), "input mutated");
    const p = eventProcess(out)!;
    assert.equal(eventParent(out), undefined);
    assert.equal(p.pid, undefined);
    assert.deepEqual(p.pod?.podLabels, {});
    assert.equal(p.pod?.name, "xwing-7d9f");
    assert.equal(p.binary, "/usr/bin/curl");
    assert.equal(eventAncestors(out)[0].arguments, "");
    assert.equal(eventAncestors(out)[0].binary, SHIM.binary);
    // untouched subtrees are shared
    assert.equal(p.pod?.container, eventProcess(ev)!.pod?.container);
    assert.equal(p.cap, eventProcess(ev)!.cap);
    assert.equal(out.nodeName, "node-1");
    assert.equal(out.time, ev.time);
  });

  test("EXCLUDE returns the same event when nothing is set", () => {
    const ev = exec(CURL);
    const apply = compileFieldFilters([ff([], ["parent", "ancestors"], FieldFilterAction.EXCLUDE)]);
    assert.equal(apply(ev), ev);
  });

  test("event_set and invert_event_set", () => {
    const exe = exec(CURL, BASH);
    const kp = kprobe(CURL, "pol", BASH);
    const onlyExit = compileFieldFilters([ff([EventType.PROCESS_EXIT], ["parent"], FieldFilterAction.EXCLUDE)]);
    assert.equal(onlyExit(exe), exe);
    assert.equal(eventParent(onlyExit(exit(CURL, BASH))), undefined);
    const notExec = compileFieldFilters([ff([EventType.PROCESS_EXEC], ["process", "parent"], FieldFilterAction.EXCLUDE, true)]);
    assert.equal(notExec(exe), exe);
    const k2 = notExec(kp);
    assert.equal(eventProcess(k2), undefined);
    assert.equal(eventParent(k2), undefined);
    assert.equal(k2.event.case === "processKprobe" && k2.event.value.functionName, "__x64_sys_write");
    assert.equal(eventProcess(kp)?.binary, "/usr/bin/curl"); // input intact
  });

  test("filters run in sequence; empty masks keep everything", () => {
    const ev = exec(CURL, BASH);
    const apply = compileFieldFilters([
      ff([], ["parent", "process.pid", "process.uid", "process.pod"], FieldFilterAction.INCLUDE),
      ff([], ["process.pid", "process.pod.pod_labels", "process.pod.namespace"], FieldFilterAction.EXCLUDE),
    ]);
    const out = apply(ev);
    const p = eventProcess(out)!;
    assert.equal(p.pid, undefined);
    assert.equal(p.binary, "");
    assert.equal(p.pod?.name, "xwing-7d9f");
    assert.equal(p.pod?.namespace, "");
    assert.deepEqual(p.pod?.podLabels, {});
    assert.equal(p.pod?.container?.name, "spaceship");
    assert.equal(eventParent(out)?.binary, "/bin/bash");
    const noop = compileFieldFilters([ff([], [], FieldFilterAction.INCLUDE), ff([], [], FieldFilterAction.EXCLUDE)]);
    assert.equal(noop(ev), ev);
  });

  test("INCLUDE on other event types and oneof payload fields", () => {
    const kp = kprobe(CURL, "pol");
    const out = compileFieldFilters([ff([], ["function_name", "args", "process.binary"], FieldFilterAction.INCLUDE)])(kp);
    assert.deepEqual(toJson(GetEventsResponseSchema, out), {
      processKprobe: { process: { binary: "/usr/bin/curl" }, functionName: "__x64_sys_write", args: [{ intArg: 3 }] },
      nodeName: "node-1",
    });
    const out2 = compileFieldFilters([ff([], ["args.int_arg"], FieldFilterAction.EXCLUDE)])(kp);
    const json = (e: GetEventsResponse) => toJson(GetEventsResponseSchema, e) as { processKprobe: Record<string, unknown> };
    assert.deepEqual(json(out2).processKprobe, { ...json(kp).processKprobe, args: [{}] });
  });

  test("camelCase paths are accepted; bad paths and actions are errors", () => {
    const ev = exec(CURL);
    const out = compileFieldFilters([ff([], ["process.startTime", "process.inInitTree"], FieldFilterAction.EXCLUDE)])(ev);
    assert.equal(eventProcess(out)?.inInitTree, undefined);
    assertFilterError(
      () => compileFieldFilters([ff([], ["process..binary"], FieldFilterAction.INCLUDE)]),
      /^field_filters\[0\]\.fields\.paths\[0\]: invalid field path/,
      "field_filters[0].fields.paths[0]",
    );
    assertFilterError(
      () => compileFieldFilters([ff([], ["x"], FieldFilterAction.INCLUDE), ff([], ["parent"], 7 as FieldFilterAction)]),
      /^field_filters\[1\]\.action: invalid fieldfilter action: 7/,
    );
  });

  test("parseFieldFilterLines", () => {
    const text = [
      '{"event_set":["PROCESS_EXEC"],"fields":"process.binary,parent,process.start_time","action":"INCLUDE","invert_event_set":false}',
      "",
      '{"fields":"process.pod.podLabels","action":"EXCLUDE"}',
    ].join("\n");
    const ffs = parseFieldFilterLines(text, "--field-filters");
    assert.equal(ffs.length, 2);
    assert.deepEqual(ffs[0].eventSet, [EventType.PROCESS_EXEC]);
    assert.deepEqual(ffs[0].fields?.paths, ["process.binary", "parent", "process.start_time"]);
    assert.equal(ffs[0].action, FieldFilterAction.INCLUDE);
    assert.equal(ffs[0].invertEventSet, false);
    assert.deepEqual(ffs[1].fields?.paths, ["process.pod.pod_labels"]);
    assert.equal(ffs[1].action, FieldFilterAction.EXCLUDE);
    const out = compileFieldFilters(ffs)(exec(CURL, BASH));
    assert.equal(eventProcess(out)?.binary, "/usr/bin/curl");
    assert.equal(eventProcess(out)?.pid, undefined);
    assert.equal(eventParent(out)?.binary, "/bin/bash");
    assertFilterError(() => parseFieldFilterLines('{"fields":"a"}\n{"action":"MAYBE"}', "--field-filters"), /^--field-filters line 2: /);
    assertFilterError(() => parseFieldFilterLines('{"fields":["a"]}', "--field-filters"), /^--field-filters line 1: "fields" must be/);
    assertFilterError(() => parseFieldFilterLines('{"fields":"a..b"}', "--field-filters"), /^--field-filters line 1: fields\.paths\[0\]: invalid field path/);
  });
});

// ---- redaction ------------------------------------------------------------------------

describe("redaction", () => {
  const rf = (redact: string[], binaryRegex: string[] = []) => create(RedactionFilterSchema, { redact, binaryRegex });

  test("redactString replaces capture groups only", () => {
    const re = /--password\s+(\S+)/dg;
    assert.equal(redactString(re, "curl --password hunter2 -v"), "curl --password ***** -v");
    assert.equal(redactString(/(a)(b)?/dg, "xaxab"), "x*****x**********");
    assert.equal(redactString(/((a)b)/dg, "ab"), "*****"); // nested group skipped
    assert.equal(redactString(/nothing(x)/dg, "abc"), undefined);
    assert.equal(redactString(/no-groups/dg, "no-groups"), undefined);
  });

  test("rewrites process, parent and ancestor arguments without mutating", () => {
    const ev = exec(CURL, BASH, [{ ...SHIM, arguments: "--token zzz" }]);
    const before = snapshot(ev);
    const apply = compileRedactionFilters([rf(["(?:--password|--token)\\s+(\\S+)"])]);
    const out = apply(ev);
    assert.ok(equals(GetEventsResponseSchema, ev, before), "input mutated");
    assert.equal(eventProcess(out)?.arguments, "-s https://example.com --password *****");
    assert.equal(eventParent(out)?.arguments, "-c 'curl --token *****");
    assert.equal(eventAncestors(out)[0].arguments, "--token *****");
    assert.equal(eventProcess(out)?.binary, "/usr/bin/curl");
    assert.equal(eventProcess(out)?.pod, eventProcess(ev)?.pod); // shared
    assert.equal(out.nodeName, "node-1");
  });

  test("binary_regex restricts which processes are redacted", () => {
    const ev = exec(CURL, BASH);
    const apply = compileRedactionFilters([rf(["--(?:password|token) (\\S+)"], ["^/usr/bin/curl$"])]);
    const out = apply(ev);
    assert.equal(eventProcess(out)?.arguments, "-s https://example.com --password *****");
    assert.equal(eventParent(out)?.arguments, BASH.arguments); // bash is not curl
    assert.equal(eventParent(out), eventParent(ev));
    const none = compileRedactionFilters([rf(["(\\S+)"], ["^/nope$"])]);
    assert.equal(none(ev), ev);
    assert.equal(compileRedactionFilters([])(ev), ev);
    assert.equal(apply(throttle), throttle);
  });

  test("environment variables are redacted as KEY=VALUE", () => {
    const ev = exec({ ...CURL, environmentVariables: [{ Key: "API_TOKEN", Value: "s3cret" }, { Key: "HOME", Value: "/root" }] });
    const out = compileRedactionFilters([rf(["(?i)token=(.*)"])])(ev);
    const env = eventProcess(out)!.environmentVariables;
    assert.deepEqual(env.map((e) => [e.Key, e.Value]), [["API_TOKEN", "*****"], ["HOME", "/root"]]);
    assert.equal(eventProcess(ev)!.environmentVariables[0].Value, "s3cret");
  });

  test("parseRedactionFilterLines and errors", () => {
    const rfs = parseRedactionFilterLines(
      '{"redact":["(?:--password|-p)[\\\\s=]+(\\\\S+)"]}\n\n{"binary_regex":["mysql"],"redact":["(x)"]}',
      "--redaction-filters",
    );
    assert.equal(rfs.length, 2);
    assert.deepEqual(rfs[1].binaryRegex, ["mysql"]);
    const out = compileRedactionFilters(rfs)(exec({ ...CURL, arguments: "--password=abc -v" }));
    assert.equal(eventProcess(out)?.arguments, "--password=***** -v");
    assertFilterError(
      () => parseRedactionFilterLines('{"redact":["ok"]}\n{"redact":["(x)","("]}', "--redaction-filters"),
      /^--redaction-filters line 2: redact\[1\]: invalid regex "\(": /,
      "redact[1]",
    );
    assertFilterError(
      () => compileRedactionFilters([rf(["(a)"]), rf(["(b)"], ["("])]),
      /^redaction_filters\[1\]\.binary_regex\[0\]: invalid regex/,
    );
  });
});
