/**
 * A minimal Docker Engine API client over the daemon's unix socket (node:http with
 * socketPath, no dependency): container inspection and the container event stream.
 * Only what `--enable-docker` needs: GET /containers/json, GET /containers/{id}/json and
 * GET /events?filters={"type":["container"]}.
 */
import * as http from "node:http";

export interface DockerContainerInfo {
  /** the full 64-hex id */
  id: string;
  /** without Docker's leading "/" */
  name: string;
  /** as given to `docker run` (Config.Image), e.g. "nginx:latest" */
  imageName: string;
  /** the image's content id (Image), "sha256:..." */
  imageId: string;
  /** State.StartedAt (RFC 3339), "" when not started */
  startedAt: string;
  privileged: boolean;
}

export interface DockerEvent {
  /** "create", "start", "rename", "die", "destroy", ... */
  action: string;
  /** the container id */
  id: string;
}

export class DockerApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export class DockerClient {
  constructor(readonly socketPath: string, private readonly timeoutMs = 5000) {}

  /** One GET, the body parsed as JSON. 404 resolves to undefined. */
  get<T>(path: string): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath: this.socketPath, path, timeout: this.timeoutMs, headers: { Host: "docker" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode === 404) return resolve(undefined);
          if (res.statusCode !== 200) return reject(new DockerApiError(res.statusCode ?? 0, `GET ${path}: ${res.statusCode} ${text.trim()}`));
          try {
            resolve(JSON.parse(text) as T);
          } catch (err) {
            reject(err);
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${path}: timed out after ${this.timeoutMs} ms`)));
      req.on("error", reject);
    });
  }

  async ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = http.get({ socketPath: this.socketPath, path: "/_ping", timeout: this.timeoutMs }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
    });
  }

  /** The running containers' full ids. */
  async listIds(): Promise<string[]> {
    const list = (await this.get<Array<{ Id?: string }>>("/containers/json")) ?? [];
    return list.map((c) => c.Id ?? "").filter((id) => id !== "");
  }

  /** GET /containers/{id}/json; undefined when no such container. */
  async inspect(id: string): Promise<DockerContainerInfo | undefined> {
    const c = await this.get<RawInspect>(`/containers/${encodeURIComponent(id)}/json`);
    if (c === undefined) return undefined;
    return {
      id: c.Id ?? id,
      name: (c.Name ?? "").replace(/^\//, ""),
      imageName: c.Config?.Image ?? "",
      imageId: c.Image ?? "",
      startedAt: c.State?.StartedAt && !c.State.StartedAt.startsWith("0001-") ? c.State.StartedAt : "",
      privileged: c.HostConfig?.Privileged === true,
    };
  }

  /**
   * Streams container events until the stream ends or fails; `onEvent` for each. Returns a
   * handle whose `done` settles when the stream is over (resolves on a clean end, rejects
   * on an error) and whose `close` ends it.
   */
  events(onEvent: (e: DockerEvent) => void): { done: Promise<void>; close: () => void } {
    const path = `/events?filters=${encodeURIComponent(JSON.stringify({ type: ["container"] }))}`;
    let req: http.ClientRequest | undefined;
    const done = new Promise<void>((resolve, reject) => {
      req = http.get({ socketPath: this.socketPath, path, headers: { Host: "docker" } }, (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new DockerApiError(res.statusCode ?? 0, `GET /events: ${res.statusCode}`));
        }
        let partial = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const lines = (partial + chunk).split("\n");
          partial = lines.pop() ?? "";
          for (const l of lines) {
            if (l.trim() === "") continue;
            try {
              const m = JSON.parse(l) as { Action?: string; status?: string; Actor?: { ID?: string }; id?: string };
              const id = m.Actor?.ID ?? m.id ?? "";
              const action = (m.Action ?? m.status ?? "").split(":")[0];
              if (id !== "") onEvent({ action, id });
            } catch {
              /* not an event object */
            }
          }
        });
        res.on("end", () => resolve());
        res.on("error", reject);
        res.on("close", () => resolve());
      });
      req.on("error", reject);
    });
    return { done, close: () => req?.destroy() };
  }
}

interface RawInspect {
  Id?: string;
  Name?: string;
  Image?: string;
  Config?: { Image?: string };
  State?: { StartedAt?: string };
  HostConfig?: { Privileged?: boolean };
}
