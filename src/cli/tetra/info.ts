/** `tetra info`: GetInfo, printed as one JSON object (proto field names). */
import { Command } from "commander";
import { createRegistry, toJsonString } from "@bufbuild/protobuf";
import { BoolValueSchema, DoubleValueSchema, Int64ValueSchema, StringValueSchema } from "@bufbuild/protobuf/wkt";
import { FineGuidanceSensors, GetInfoResponseSchema } from "../../api/gen/tetragon/sensors_pb";
import { withClient } from "./common/client";
import { rpcFailure } from "./common/errors";
import { globalOptions } from "./common/options";
import { action } from "./common/run";

const registry = createRegistry(BoolValueSchema, DoubleValueSchema, Int64ValueSchema, StringValueSchema);

export function infoCommand(): Command {
  return new Command("info").description("Retrieve information from the server").action(action(async (_o, cmd: Command) => {
    await withClient(globalOptions(cmd), async (c) => {
      const res = await c.unary(FineGuidanceSensors.method.getInfo, {}).catch((e) => {
        throw rpcFailure("failed to retrieve info", e);
      });
      process.stdout.write(toJsonString(GetInfoResponseSchema, res, { useProtoFieldName: true, registry }) + "\n");
    });
  }));
}
