/** Writes deploy/crds/*.yaml from the policy schema: `node dist/src/k8s/gen-crds.js [dir]`. */
import * as fs from "node:fs";
import * as path from "node:path";
import { CRD_FILES, crdYaml } from "./crds";

const dir = process.argv[2] ?? path.join(__dirname, "..", "..", "..", "deploy", "crds");
fs.mkdirSync(dir, { recursive: true });
for (const { file, names } of CRD_FILES) {
  fs.writeFileSync(path.join(dir, file), crdYaml(names));
  console.log(path.join(dir, file));
}
