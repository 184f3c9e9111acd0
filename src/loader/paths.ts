/** Where the built artefacts are, relative to the compiled file (dist/src/loader). */
import * as path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "../../..");

export function bpfObjectPath(name: string, bpfLib?: string): string {
  if (bpfLib) {
    const candidate = path.join(bpfLib, `${name}.bpf.o`);
    try {
      require("node:fs").accessSync(candidate);
      return candidate;
    } catch {
      /* fall back to the build tree */
    }
  }
  return path.join(PROJECT_ROOT, "bpf", ".output", `${name}.bpf.o`);
}
