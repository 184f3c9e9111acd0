/**
 * FineGuidanceSensors.GetDebug / SetDebug: read and change the agent's log level at run
 * time, and dump the process cache. Unknown flags are errors, as in Tetragon.
 */
import { create } from "@bufbuild/protobuf";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import {
  ConfigFlag, DumpProcessCacheResArgsSchema, GetDebugResponseSchema, LogLevel, ProcessInternalSchema,
  SetDebugResponseSchema, type GetDebugRequest, type GetDebugResponse, type SetDebugRequest, type SetDebugResponse,
} from "../../../api/gen/tetragon/sensors_pb";
import type { ServerDeps } from "../deps";
import { unknownError } from "../status";

const TO_PINO: Record<LogLevel, string> = {
  [LogLevel.PANIC]: "fatal",
  [LogLevel.FATAL]: "fatal",
  [LogLevel.ERROR]: "error",
  [LogLevel.WARN]: "warn",
  [LogLevel.INFO]: "info",
  [LogLevel.DEBUG]: "debug",
  [LogLevel.TRACE]: "trace",
};

const FROM_PINO: Record<string, LogLevel> = {
  fatal: LogLevel.FATAL,
  error: LogLevel.ERROR,
  warn: LogLevel.WARN,
  info: LogLevel.INFO,
  debug: LogLevel.DEBUG,
  trace: LogLevel.TRACE,
};

export function debugHandlers(deps: ServerDeps) {
  return {
    getDebug(call: ServerUnaryCall<GetDebugRequest, GetDebugResponse>, cb: sendUnaryData<GetDebugResponse>): void {
      const req = call.request;
      switch (req.flag) {
        case ConfigFlag.LOG_LEVEL:
          cb(null, create(GetDebugResponseSchema, {
            flag: ConfigFlag.LOG_LEVEL,
            arg: { case: "level", value: FROM_PINO[deps.log.level] ?? LogLevel.INFO },
          }));
          return;
        case ConfigFlag.DUMP_PROCESS_CACHE: {
          const skipZero = req.arg.case === "dump" && req.arg.value.skipZeroRefcnt;
          const processes = [];
          for (const e of deps.cache.entries()) {
            if (skipZero && e.refcnt === 0) continue;
            processes.push(create(ProcessInternalSchema, { process: e.process, color: e.deletePending ? "pending" : "", refcnt: e.refcnt }));
          }
          cb(null, create(GetDebugResponseSchema, {
            flag: ConfigFlag.DUMP_PROCESS_CACHE,
            arg: { case: "processes", value: create(DumpProcessCacheResArgsSchema, { processes }) },
          }));
          return;
        }
        default:
          cb(unknownError(`client requested unknown config flag ${req.flag}`));
      }
    },
    setDebug(call: ServerUnaryCall<SetDebugRequest, SetDebugResponse>, cb: sendUnaryData<SetDebugResponse>): void {
      const req = call.request;
      if (req.flag !== ConfigFlag.LOG_LEVEL) {
        cb(unknownError(`client requested change of unknown config flag ${req.flag}`));
        return;
      }
      const level = req.arg.case === "level" ? req.arg.value : LogLevel.INFO;
      const before = deps.log.level;
      deps.log.level = TO_PINO[level] ?? "info";
      deps.log.warn(`Log level changed from ${before} to ${deps.log.level}`);
      cb(null, create(SetDebugResponseSchema, { flag: ConfigFlag.LOG_LEVEL, arg: { case: "level", value: level } }));
    },
  };
}
