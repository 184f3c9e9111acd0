/**
 * `tetra tracingpolicy` (alias `tp`): add, delete, list, enable, disable, set-mode and
 * domains, each one RPC of FineGuidanceSensors. A failing RPC prints the server's
 * message (`Error: failed to add tracing policy: rpc error: code = Unimplemented desc =
 * ...`) and exits 1.
 */
import * as fs from "node:fs";
import { Command } from "commander";
import * as YAML from "yaml";
import { toJsonString } from "@bufbuild/protobuf";
import {
  FineGuidanceSensors, ListTracingPoliciesResponseSchema, TracingPolicyMode,
} from "../../../api/gen/tetragon/sensors_pb";
import { withClient } from "../common/client";
import { CliError, rpcFailure } from "../common/errors";
import { globalOptions } from "../common/options";
import { action } from "../common/run";
import { printPolicies } from "./print";

const DEFAULT_DOMAIN = "grpc";

function parseMode(m: string): TracingPolicyMode {
  if (m === "enforce") return TracingPolicyMode.TP_MODE_ENFORCE;
  if (m === "monitor") return TracingPolicyMode.TP_MODE_MONITOR;
  throw new CliError(`invalid mode ${JSON.stringify(m)}: expected enforce or monitor`);
}

/** Adds spec.options policy-mode=<mode> to a policy document (tp add -m). */
export function withPolicyMode(yamlText: string, mode: string): string {
  parseMode(mode);
  const doc = YAML.parseDocument(yamlText);
  if (doc.errors.length) throw new CliError(`failed to parse tracing policy: ${doc.errors[0].message}`);
  const spec = doc.get("spec");
  if (!YAML.isMap(spec)) throw new CliError("failed to parse tracing policy: no spec");
  let options = spec.get("options");
  if (!YAML.isSeq(options)) {
    options = doc.createNode([]);
    spec.set("options", options);
  }
  (options as YAML.YAMLSeq).items = (options as YAML.YAMLSeq).items.filter((o) => !(YAML.isMap(o) && o.get("name") === "policy-mode"));
  (options as YAML.YAMLSeq).add(doc.createNode({ name: "policy-mode", value: mode }));
  return doc.toString();
}

export function tracingPolicyCommand(): Command {
  const tp = new Command("tracingpolicy").alias("tp").description("Manage tracing policies");

  tp.command("add <yaml>").description("Add a new tracing policy")
    .option("-m, --mode <mode>", "Tracing policy mode (enforce|monitor)")
    .option("--domain <domain>", "Policy domain", DEFAULT_DOMAIN)
    .action(action(async (file: string, o: { mode?: string; domain: string }, cmd: Command) => {
      let text: string;
      try {
        text = fs.readFileSync(file, "utf8");
      } catch (err) {
        throw new CliError(`failed to read yaml file ${file}: ${(err as Error).message}`);
      }
      if (o.mode) text = withPolicyMode(text, o.mode);
      await withClient(globalOptions(cmd), async (c) => {
        await c.unary(FineGuidanceSensors.method.addTracingPolicy, { yaml: text, domain: o.domain }).catch((e) => {
          throw rpcFailure("failed to add tracing policy", e);
        });
        process.stdout.write(`tracing policy ${JSON.stringify(file)} added\n`);
      });
    }));

  tp.command("delete <name>").description("Delete a tracing policy")
    .option("-n, --namespace <ns>", "Namespace of the tracing policy", "")
    .option("--domain <domain>", "Policy domain", DEFAULT_DOMAIN)
    .action(action(async (name: string, o: { namespace: string; domain: string }, cmd: Command) => {
      await withClient(globalOptions(cmd), async (c) => {
        await c.unary(FineGuidanceSensors.method.deleteTracingPolicy, { name, namespace: o.namespace, domain: o.domain }).catch((e) => {
          throw rpcFailure("failed to delete tracing policy", e);
        });
        process.stdout.write(`tracing policy ${JSON.stringify(name)} deleted\n`);
      });
    }));

  for (const [verb, enable] of [["enable", true], ["disable", false]] as const) {
    tp.command(`${verb} <name>`).description(`${verb === "enable" ? "Enable" : "Disable"} a tracing policy`)
      .option("-n, --namespace <ns>", "Namespace of the tracing policy", "")
      .option("--domain <domain>", "Policy domain", DEFAULT_DOMAIN)
      .action(action(async (name: string, o: { namespace: string; domain: string }, cmd: Command) => {
        await withClient(globalOptions(cmd), async (c) => {
          await c.unary(FineGuidanceSensors.method.configureTracingPolicy, { name, namespace: o.namespace, domain: o.domain, enable }).catch((e) => {
            throw rpcFailure(`failed to ${verb} tracing policy`, e);
          });
          process.stdout.write(`tracing policy ${JSON.stringify(name)} ${verb}d\n`);
        });
      }));
  }

  tp.command("set-mode <name> <mode>").description("Set the mode of a tracing policy (enforce|monitor)")
    .option("-n, --namespace <ns>", "Namespace of the tracing policy", "")
    .option("--domain <domain>", "Policy domain", DEFAULT_DOMAIN)
    .action(action(async (name: string, mode: string, o: { namespace: string; domain: string }, cmd: Command) => {
      const m = parseMode(mode);
      await withClient(globalOptions(cmd), async (c) => {
        await c.unary(FineGuidanceSensors.method.configureTracingPolicy, { name, namespace: o.namespace, domain: o.domain, mode: m }).catch((e) => {
          throw rpcFailure("failed to set tracing policy mode", e);
        });
        process.stdout.write(`tracing policy ${JSON.stringify(name)} set to mode ${mode}\n`);
      });
    }));

  tp.command("list").description("List tracing policies")
    .option("-o, --output <format>", "Output format (text|json)", "text")
    .option("--domain <domain>", "Policy domain", "")
    .action(action(async (o: { output: string; domain: string }, cmd: Command) => {
      if (o.output !== "text" && o.output !== "json") throw new CliError(`invalid value for "output" flag: ${o.output}`);
      await withClient(globalOptions(cmd), async (c) => {
        const res = await c.unary(FineGuidanceSensors.method.listTracingPolicies, { domain: o.domain }).catch((e) => {
          throw rpcFailure("failed to list tracing policies", e);
        });
        if (o.output === "json") process.stdout.write(toJsonString(ListTracingPoliciesResponseSchema, res, { useProtoFieldName: true }) + "\n");
        else process.stdout.write(printPolicies(res.policies));
      });
    }));

  tp.command("domains").description("List policy domains")
    .option("-o, --output <format>", "Output format (text|json)", "text")
    .action(action(async (o: { output: string }, cmd: Command) => {
      await withClient(globalOptions(cmd), async (c) => {
        const res = await c.unary(FineGuidanceSensors.method.listDomains, {}).catch((e) => {
          throw rpcFailure("failed to list domains", e);
        });
        process.stdout.write(o.output === "json" ? JSON.stringify({ domains: res.domains }) + "\n" : res.domains.map((d) => d + "\n").join(""));
      });
    }));

  return tp;
}
