/**
 * Kernel functions users hook most, on kernels without kprobes: the tracepoint that carries
 * the same object stands in for the function, with conditions that select the function's
 * moment (a TCP state transition), and the event is reported under the function's name.
 * Each stand-in is built in ./standins/; docs/ARCHITECTURE.md has the table.
 */
import { MOP } from "../../decode/generic-layout";
import type { KProbeSpec, TracingPolicy } from "../types";
import type { HookPlan, ValueSets } from "./plan";
import type { CompileEnv } from "./hooks";
import type { StandInContext } from "./standins/common";
import { tracepointStandIn, type TracepointStandIn } from "./standins/tracepoint";
import { acceptStandIn } from "./standins/accept";
import { bprmStandIn } from "./standins/bprm";

const TCP_SYN_SENT = 2;
const TCP_CLOSE = 7;
const IPPROTO_TCP = 6;

const SOCK_STATE = { subsystem: "sock", event: "inet_sock_set_state", args: { 0: { field: "skaddr", ctype: "struct sock *" } } };

const TRACEPOINTS: Record<string, TracepointStandIn> = {
  tcp_connect: {
    ...SOCK_STATE,
    when: [{ field: "newstate", op: MOP.EQ, values: [TCP_SYN_SENT] }, { field: "protocol", op: MOP.EQ, values: [IPPROTO_TCP] }],
    // the source port is chosen after the state changes: read the socket when connect() returns
    exit: { subsystem: "syscalls", event: "sys_exit_connect" },
    sockState: "TCP_SYN_SENT",
    description: "tcp_connect as sock/inet_sock_set_state to TCP_SYN_SENT, reported at the end of connect()",
  },
  tcp_close: {
    ...SOCK_STATE,
    when: [{ field: "newstate", op: MOP.EQ, values: [TCP_CLOSE] }, { field: "protocol", op: MOP.EQ, values: [IPPROTO_TCP] }],
    sockState: "TCP_CLOSE",
    description: "tcp_close as sock/inet_sock_set_state to TCP_CLOSE",
  },
  // cap_capable(cred, target_ns, cap, opts): the tracepoint fires as it returns, with its result
  cap_capable: {
    subsystem: "capability", event: "cap_capable",
    args: {
      0: { field: "cred", ctype: "const struct cred *" },
      1: { field: "target_ns", ctype: "struct user_namespace *" },
      2: { field: "cap" },
    },
    when: [],
    ret: "ret",
    description: "cap_capable as capability/cap_capable (its return value included)",
  },
  // tcp_sendmsg(sk, msg, size): every send on a socket ends in sock_sendmsg_nosec, which
  // reports the bytes sent; the size is those bytes (failed sends are not reported)
  tcp_sendmsg: {
    subsystem: "sock", event: "sock_send_length",
    args: { 0: { field: "sk", ctype: "struct sock *" }, 2: { field: "ret", ctype: "int" } },
    when: [
      { field: "protocol", op: MOP.EQ, values: [IPPROTO_TCP] },
      { field: "ret", op: MOP.GT, values: [-1] },
    ],
    ret: "ret",
    description: "tcp_sendmsg as sock/sock_send_length on TCP (the size is the bytes sent)",
  },
};

type Build = (ctx: StandInContext) => HookPlan[];

export const EQUIVALENTS: Record<string, Build> = {
  ...Object.fromEntries(Object.entries(TRACEPOINTS).map(([name, def]) => [name, (ctx: StandInContext) => tracepointStandIn(def, ctx)])),
  inet_csk_accept: acceptStandIn,
  security_bprm_check: bprmStandIn,
  security_bprm_committing_creds: bprmStandIn,
};

/** The hooks standing in for kernel function `call`, or undefined when it has no stand-in. */
export function equivalentHook(
  policy: TracingPolicy, spec: KProbeSpec, call: string, path: string, values: ValueSets, env: CompileEnv,
  followSets: string[][],
): HookPlan[] | undefined {
  const build = EQUIVALENTS[call];
  return build ? build({ policy, spec, call, path, values, env, followSets }) : undefined;
}
