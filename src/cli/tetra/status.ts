/** `tetra status`: GetHealth → `Health Status: <details>`. */
import { Command } from "commander";
import { FineGuidanceSensors } from "../../api/gen/tetragon/sensors_pb";
import { withClient } from "./common/client";
import { rpcFailure } from "./common/errors";
import { globalOptions } from "./common/options";
import { action } from "./common/run";

export function statusCommand(): Command {
  return new Command("status").description("Print health status").action(action(async (_opts, cmd: Command) => {
    await withClient(globalOptions(cmd), async (c) => {
      const res = await c.unary(FineGuidanceSensors.method.getHealth, {}).catch((e) => {
        throw rpcFailure("status error", e);
      });
      const s = res.healthStatus[0];
      process.stdout.write(s ? `Health Status: ${s.details}\n` : "Health Status: no status available\n");
    });
  }));
}
