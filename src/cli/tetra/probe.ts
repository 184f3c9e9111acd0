/**
 * `tetra probe`: the kernel BPF features tetragon relies on, probed locally (not through
 * the agent), one `name: true|false` per line as Tetragon prints them.
 */
import { Command } from "commander";
import { formatFeatures, probeKernelFeatures } from "../../api/server/kernel-features";
import { loadNative, type NativeAddon } from "../../loader/native";
import { bpfObjectPath } from "../../loader/paths";
import { action } from "./common/run";

export function probeCommand(): Command {
  return new Command("probe").description("Probe for eBPF system features availability").action(action(() => {
    if (typeof process.geteuid === "function" && process.geteuid() !== 0) {
      process.stderr.write("warning: for accurate results, you may need to run as root and/or with sufficient capabilities.\n");
    }
    let native: NativeAddon | undefined;
    try {
      native = loadNative();
    } catch (err) {
      process.stderr.write(`warning: the native addon could not be loaded (${(err as Error).message}); program and helper probes report false\n`);
    }
    const probeObject = bpfObjectPath("probe");
    process.stdout.write(formatFeatures(probeKernelFeatures({ native, probeObject })).replaceAll(", ", "\n") + "\n");
  }));
}
