/**
 * The TracingPolicy / TracingPolicyNamespaced CRDs under deploy/crds/: generated from the one
 * policy schema (src/k8s/crds.ts), committed files equal to the generator's output, valid
 * CustomResourceDefinition objects (kubernetes-models), and structural schemas as the API
 * server requires them (every node typed, no $ref, properties and additionalProperties never
 * together, defaults valid for their nodes, metadata only {type: object}).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import Ajv from "ajv";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import { CRD_FILES, crdYaml, tracingPolicyCrd, TRACING_POLICY_NAMES, TRACING_POLICY_NAMESPACED_NAMES } from "../../src/k8s/crds";
import { parsePolicyObject } from "../../src/policy";

const CRD_DIR = path.join(__dirname, "..", "..", "..", "deploy", "crds");

/** keywords a structural schema may use (apiextensions.k8s.io/v1 JSONSchemaProps) */
const ALLOWED = new Set([
  "type", "format", "description", "properties", "items", "required", "enum", "default", "minimum", "maximum",
  "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "minItems", "maxItems", "minProperties",
  "maxProperties", "pattern", "nullable", "additionalProperties", "uniqueItems", "multipleOf", "title", "example",
  "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string", "x-kubernetes-validations",
  "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-embedded-resource",
]);

function structuralProblems(node: Record<string, unknown>, at: string, out: string[], root = false): void {
  for (const k of Object.keys(node)) if (!ALLOWED.has(k)) out.push(`${at}: keyword ${k} is not allowed`);
  if (typeof node.type !== "string" && node["x-kubernetes-int-or-string"] !== true) out.push(`${at}: no type`);
  if (node.properties && node.additionalProperties !== undefined) out.push(`${at}: properties and additionalProperties together`);
  if (node.additionalProperties === false) out.push(`${at}: additionalProperties: false`);
  if (node.type === "array" && !node.items) out.push(`${at}: array without items`);
  const props = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
  for (const [k, v] of Object.entries(props)) {
    if (root && k === "metadata") {
      if (JSON.stringify(v) !== JSON.stringify({ type: "object" })) out.push(`${at}.metadata: must be {type: object}`);
      continue;
    }
    structuralProblems(v, `${at}.${k}`, out);
  }
  if (node.items && typeof node.items === "object") structuralProblems(node.items as Record<string, unknown>, `${at}[]`, out);
  if (node.additionalProperties && typeof node.additionalProperties === "object") {
    structuralProblems(node.additionalProperties as Record<string, unknown>, `${at}{}`, out);
  }
}

function stripExtensions(n: unknown): unknown {
  if (Array.isArray(n)) return n.map(stripExtensions);
  if (!n || typeof n !== "object") return n;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) {
    if (k.startsWith("x-kubernetes-") || k === "nullable") continue;
    o[k] = k === "default" || k === "enum" ? v : stripExtensions(v);
  }
  return o;
}

function defaults(node: Record<string, unknown>, at: string, out: Array<[string, Record<string, unknown>]>): void {
  if (node.default !== undefined) out.push([at, node]);
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) defaults(v, `${at}.${k}`, out);
  if (node.items && typeof node.items === "object") defaults(node.items as Record<string, unknown>, `${at}[]`, out);
  if (node.additionalProperties && typeof node.additionalProperties === "object") {
    defaults(node.additionalProperties as Record<string, unknown>, `${at}{}`, out);
  }
}

describe("TracingPolicy CRDs (deploy/crds, generated from src/policy/schema.ts)", () => {
  for (const { file, names } of CRD_FILES) {
    test(`${file} is the generator's output (run node dist/src/k8s/gen-crds.js after a schema change)`, () => {
      const committed = fs.readFileSync(path.join(CRD_DIR, file), "utf8");
      assert.equal(committed, crdYaml(names));
    });

    test(`${file} is a valid CustomResourceDefinition with a structural schema`, () => {
      const crd = parse(fs.readFileSync(path.join(CRD_DIR, file), "utf8").replace(/^#.*\n---\n/, ""));
      new CustomResourceDefinition(crd).validate();
      assert.equal(crd.metadata.name, `${names.plural}.cilium.io`);
      assert.equal(crd.spec.group, "cilium.io");
      assert.equal(crd.spec.scope, names.scope);
      assert.deepEqual(crd.spec.names.shortNames, names.shortNames);
      assert.equal(crd.spec.versions.length, 1);
      assert.equal(crd.spec.versions[0].name, "v1alpha1");
      const schema = crd.spec.versions[0].schema.openAPIV3Schema;
      const problems: string[] = [];
      structuralProblems(schema, "", problems, true);
      assert.deepEqual(problems, []);
      assert.deepEqual(schema.properties.kind.enum, [names.kind]);
      // every default is valid for its own node
      const ajv = new Ajv({ strict: false });
      const found: Array<[string, Record<string, unknown>]> = [];
      defaults(schema, "", found);
      assert.ok(found.length > 0);
      for (const [at, node] of found) {
        const n = stripExtensions(node) as Record<string, unknown>;
        assert.ok(ajv.validate(n, node.default), `${at}: default ${JSON.stringify(node.default)}: ${ajv.errorsText()}`);
      }
    });
  }

  test("names as Tetragon's: tracingpolicies/tgtp (cluster), tracingpoliciesnamespaced/tgtpn (namespaced, no hostSelector)", () => {
    assert.deepEqual(
      [TRACING_POLICY_NAMES.plural, TRACING_POLICY_NAMES.singular, TRACING_POLICY_NAMES.shortNames, TRACING_POLICY_NAMES.scope],
      ["tracingpolicies", "tracingpolicy", ["tgtp"], "Cluster"],
    );
    assert.deepEqual(
      [TRACING_POLICY_NAMESPACED_NAMES.plural, TRACING_POLICY_NAMESPACED_NAMES.shortNames, TRACING_POLICY_NAMESPACED_NAMES.scope],
      ["tracingpoliciesnamespaced", ["tgtpn"], "Namespaced"],
    );
    const ns = tracingPolicyCrd(TRACING_POLICY_NAMESPACED_NAMES) as any;
    const rules = ns.spec.versions[0].schema.openAPIV3Schema.properties.spec["x-kubernetes-validations"];
    assert.deepEqual(rules.map((r: { rule: string }) => r.rule), ["!has(self.hostSelector)"]);
  });

  test("a policy valid for the CRD schema is accepted by the policy parser (same schema)", () => {
    const crd = tracingPolicyCrd(TRACING_POLICY_NAMES) as any;
    const schema = stripExtensions(crd.spec.versions[0].schema.openAPIV3Schema) as Record<string, unknown>;
    const doc = {
      apiVersion: "cilium.io/v1alpha1",
      kind: "TracingPolicy",
      metadata: { name: "fd-install" },
      spec: { kprobes: [{ call: "fd_install", syscall: false, args: [{ index: 0, type: "int" }, { index: 1, type: "file" }] }] },
    };
    const ajv = new Ajv({ strict: false });
    assert.ok(ajv.validate(schema, doc), ajv.errorsText());
    assert.equal(parsePolicyObject(doc).metadata.name, "fd-install");
  });
});
