/**
 * Optional CPU profile of the running agent (TETRAGON_TS_CPU_PROFILE=<file>), started once the
 * sensors are loaded: the sampling profiler's signals would interrupt the BPF verifier.
 */
import * as fs from "node:fs";
import { Session } from "node:inspector";

export class CpuProfiler {
  private session?: Session;

  constructor(private readonly file: string | undefined) {}

  start(): void {
    if (!this.file) return;
    this.session = new Session();
    this.session.connect();
    this.session.post("Profiler.enable");
    this.session.post("Profiler.start");
  }

  stop(): Promise<void> {
    const s = this.session;
    if (!s || !this.file) return Promise.resolve();
    this.session = undefined;
    return new Promise((resolve) => {
      s.post("Profiler.stop", (err, res) => {
        if (!err) fs.writeFileSync(this.file!, JSON.stringify(res.profile));
        s.disconnect();
        resolve();
      });
    });
  }
}
