/**
 * The agent's API server: tetragon.FineGuidanceSensors on --server-address (plus the
 * default unix socket when that address is TCP), grpc.health.v1 on
 * --health-server-address, and <run dir>/tetragon-info.json. start() fails when the main
 * address cannot be bound; the extra socket and the health server only warn.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { FineGuidanceSensors } from "../../api/gen/tetragon/sensors_pb";
import { compileRedactionFilters, parseRedactionFilterLines } from "../../filters";
import { parseListenAddress, type ListenAddress } from "./address";
import { bindAddress } from "./listen";
import type { ServerDeps } from "./deps";
import { EventHub } from "./event-hub";
import { HealthState, healthServiceDefinition, ServingStatus } from "./health-service";
import { debugHandlers } from "./handlers/debug";
import { getEventsHandler } from "./handlers/get-events";
import { getHealth } from "./handlers/health";
import { versionHandlers } from "./handlers/info";
import { stubHandlers } from "./handlers/stubs";
import { policyHandlers } from "./handlers/policies";
import { grpcServiceDefinition } from "./service-def";
import {
  DEFAULT_SOCKET_NAME, infoFilePath, lookPath, removeInitInfo, writeInitInfo,
} from "./info-file";

export const DEFAULT_HEALTH_PORT = 6789;
const SHUTDOWN_GRACE_MS = 1000;

export class ApiServer {
  private server?: grpc.Server;
  private healthServer?: grpc.Server;
  private readonly health = new HealthState();
  private unixSockets: string[] = [];
  private infoFile?: string;
  readonly hub: EventHub;
  /** the addresses actually served, for logs and tests */
  readonly listening: string[] = [];

  constructor(private readonly deps: ServerDeps) {
    const cfg = deps.config;
    const redact = compileRedactionFilters(parseRedactionFilterLines(cfg["redaction-filters"], "--redaction-filters"));
    this.hub = new EventHub(deps.bus, redact);
  }

  private runDir(): string {
    return this.deps.config["run-dir"] as string;
  }

  private implementation(): grpc.UntypedServiceImplementation {
    return {
      ...stubHandlers,
      ...(this.deps.policies ? policyHandlers(this.deps.policies) : {}),
      getEvents: getEventsHandler(this.deps, this.hub),
      getHealth,
      ...versionHandlers(this.deps),
      ...debugHandlers(this.deps),
    } as grpc.UntypedServiceImplementation;
  }

  async start(): Promise<void> {
    const cfg = this.deps.config;
    const log = this.deps.log;
    const main = parseListenAddress(cfg["server-address"]);
    if (main) {
      const server = new grpc.Server();
      server.addService(grpcServiceDefinition(FineGuidanceSensors), this.implementation());
      this.server = server;
      await bindAddress(server, main);
      this.listening.push(main.spec);
      if (main.kind === "unix") this.unixSockets.push(main.path);
      else {
        const sock = path.join(this.runDir(), DEFAULT_SOCKET_NAME);
        try {
          await bindAddress(server, { kind: "unix", path: sock, spec: `unix://${sock}` });
          this.unixSockets.push(sock);
          this.listening.push(`unix://${sock}`);
        } catch (err) {
          log.warn({ socket: sock, err: String(err) }, "could not serve the gRPC API on the default unix socket");
        }
      }
      log.info({ address: this.listening }, "Starting gRPC server");
    }
    await this.startHealth();
    this.writeInfo();
  }

  private async startHealth(): Promise<void> {
    const cfg = this.deps.config;
    let addr: ListenAddress | undefined;
    try {
      addr = parseListenAddress(cfg["health-server-address"], DEFAULT_HEALTH_PORT);
    } catch (err) {
      this.deps.log.warn({ err: String(err) }, "invalid --health-server-address; health server disabled");
      return;
    }
    if (!addr) return;
    this.health.set("", ServingStatus.SERVING);
    this.health.set("liveness", ServingStatus.SERVING);
    const server = new grpc.Server();
    server.addService(healthServiceDefinition, this.health.handlers() as unknown as grpc.UntypedServiceImplementation);
    try {
      await bindAddress(server, addr);
      this.healthServer = server;
      if (addr.kind === "unix") this.unixSockets.push(addr.path);
      this.deps.log.info({ address: addr.spec }, "Starting gRPC health server");
    } catch (err) {
      server.forceShutdown();
      this.deps.log.warn({ address: addr.spec, err: String(err) }, "could not start the gRPC health server");
    }
  }

  private writeInfo(): void {
    const cfg = this.deps.config;
    const file = infoFilePath(this.runDir());
    try {
      writeInitInfo(file, {
        export_fname: cfg["export-filename"],
        lib_dir: cfg["bpf-lib"],
        btf_fname: cfg.btf || "/sys/kernel/btf/vmlinux",
        server_address: cfg["server-address"],
        metrics_address: cfg["metrics-server"],
        gops_address: "",
        map_dir: path.join("/sys/fs/bpf", cfg["bpf-dir"]),
        bpftool_path: lookPath("bpftool"),
        gops_path: lookPath("gops"),
        pid: process.pid,
      });
      this.infoFile = file;
    } catch (err) {
      this.deps.log.warn({ file, err: String(err) }, "could not write the agent info file");
    }
  }

  private shutdown(server: grpc.Server): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, SHUTDOWN_GRACE_MS);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    this.hub.shutdown();
    this.health.set("liveness", ServingStatus.NOT_SERVING);
    this.health.set("", ServingStatus.NOT_SERVING);
    this.health.endWatches();
    const servers = [this.server, this.healthServer].filter((s): s is grpc.Server => s !== undefined);
    this.server = undefined;
    this.healthServer = undefined;
    await Promise.all(servers.map((s) => this.shutdown(s)));
    for (const p of this.unixSockets) {
      try {
        fs.unlinkSync(p);
      } catch {
        // gone
      }
    }
    this.unixSockets = [];
    if (this.infoFile) removeInitInfo(this.infoFile, process.pid);
    this.infoFile = undefined;
  }
}
