/** What the API server needs from the agent; passed in once at construction. */
import type { AgentConfig } from "../../config";
import type { Logger } from "../../log/logger";
import type { EventBus } from "../../agent/event-bus";
import type { ProcessCache } from "../../process/cache";
import type { AgentMetrics } from "../../metrics/registry";
import type { KernelFeature } from "./kernel-features";
import type { PolicyManager } from "../../policy/manager";

export interface ServerDeps {
  config: AgentConfig;
  log: Logger;
  bus: EventBus;
  cache: ProcessCache;
  metrics?: AgentMetrics;
  nodeName: string;
  /** the agent's version (package.json) */
  version: string;
  /** the kernel features the agent probed */
  features: () => readonly KernelFeature[];
  /** tracing policies; without it the policy RPCs answer UNIMPLEMENTED */
  policies?: PolicyManager;
}
