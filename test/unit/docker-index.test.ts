/**
 * --enable-docker without a daemon: the Docker index and the event gate against a local HTTP
 * server on a unix socket that answers like the Docker Engine API (/containers/json,
 * /containers/{id}/json, /events), the process cache attaching the containers, and the
 * compact output of a container that only Docker knows.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import pino from "pino";
import { create } from "@bufbuild/protobuf";
import { GetEventsResponseSchema, type GetEventsResponse } from "../../src/api/gen/tetragon/events_pb";
import { ProcessSchema } from "../../src/api/gen/tetragon/tetragon_pb";
import { ChainedLookup, DockerIndex } from "../../src/docker/docker-index";
import { DockerEventGate } from "../../src/docker/event-gate";
import { PodIndex } from "../../src/k8s/pod-index";
import { ProcessCache, type CachedProcess } from "../../src/process/cache";
import { dockerField } from "../../src/process/container";
import { eventToCompact } from "../../src/encode/compact";
import { newColorer } from "../../src/encode/color";

const hex = () => crypto.randomBytes(32).toString("hex");
const log = pino({ level: "silent" });

interface Fake {
  name: string;
  image: string;
  started: boolean;
}

/** A stand-in for dockerd: containers by id, an event stream, an optional inspect delay. */
class FakeDocker {
  readonly socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fake-docker-")), "docker.sock");
  readonly containers = new Map<string, Fake>();
  inspectDelayMs = 0;
  inspects = 0;
  private streams: http.ServerResponse[] = [];
  private server = http.createServer((req, res) => this.handle(req, res));

  start(): Promise<void> {
    return new Promise((r) => this.server.listen(this.socket, r));
  }

  stop(): Promise<void> {
    for (const s of this.streams) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }

  emit(action: string, id: string): void {
    for (const s of this.streams) s.write(JSON.stringify({ Type: "container", Action: action, Actor: { ID: id } }) + "\n");
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://docker");
    if (url.pathname === "/containers/json") {
      res.end(JSON.stringify([...this.containers].filter(([, c]) => c.started).map(([Id]) => ({ Id }))));
      return;
    }
    if (url.pathname === "/events") {
      assert.deepEqual(JSON.parse(url.searchParams.get("filters") ?? ""), { type: ["container"] });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.flushHeaders();
      this.streams.push(res);
      return;
    }
    const m = /^\/containers\/([0-9a-f]+)\/json$/.exec(url.pathname);
    if (m) {
      this.inspects++;
      const hit = [...this.containers].find(([id]) => id.startsWith(m[1]));
      setTimeout(() => {
        if (!hit) {
          res.writeHead(404).end(JSON.stringify({ message: "No such container" }));
          return;
        }
        const [id, c] = hit;
        res.end(JSON.stringify({
          Id: id, Name: `/${c.name}`, Image: `sha256:${"ab".repeat(32)}`, Config: { Image: c.image },
          State: { StartedAt: c.started ? "2026-11-29T10:00:00.123456789Z" : "0001-01-01T00:00:00Z" },
          HostConfig: { Privileged: false },
        }));
      }, this.inspectDelayMs);
      return;
    }
    res.writeHead(404).end();
  }
}

function cached(cache: ProcessCache, containerId: string, pid: number): CachedProcess {
  const e: CachedProcess = {
    process: create(ProcessSchema, { execId: `exec-${pid}`, pid, binary: "/usr/bin/echo", arguments: `hi ${pid}`, docker: dockerField(containerId) }),
    ktime: 0n, capEffective: 0n, refcnt: 1, deletePending: false, exited: false,
  };
  cache.add(e);
  return e;
}

function execEvent(cache: ProcessCache, e: CachedProcess): GetEventsResponse {
  return create(GetEventsResponseSchema, { nodeName: "node-a", event: { case: "processExec", value: { process: cache.eventProcess(e) } } });
}

async function waitUntil(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("Docker index (--enable-docker)", () => {
  const fake = new FakeDocker();
  let index: DockerIndex;
  const running = hex();

  before(async () => {
    fake.containers.set(running, { name: "web", image: "nginx:latest", started: true });
    await fake.start();
    index = new DockerIndex({ socketPath: fake.socket, log });
    await index.start();
  });

  after(async () => {
    await index.stop();
    await fake.stop();
  });

  test("lists the running containers at start; their processes carry pod.container", () => {
    assert.equal(index.size, 1);
    const cache = new ProcessCache(100);
    cache.pods = index;
    const p = cache.eventProcess(cached(cache, running, 10));
    assert.equal(p.pod?.container?.id, `docker://${running}`);
    assert.equal(p.pod?.container?.name, "web");
    assert.equal(p.pod?.container?.image?.name, "nginx:latest");
    assert.equal(p.pod?.container?.image?.id, `sha256:${"ab".repeat(32)}`);
    assert.equal(p.pod?.container?.startTime?.seconds, BigInt(Date.parse("2026-11-29T10:00:00Z") / 1000));
    assert.equal(p.pod?.namespace, "");
    assert.equal(p.pod?.name, "");
  });

  test("a container that starts later is indexed from the event stream", async () => {
    const id = hex();
    fake.containers.set(id, { name: "late", image: "busybox", started: true });
    fake.emit("start", id);
    await waitUntil(() => index.lookup(id) !== undefined, "the started container");
    assert.equal(index.lookup(id)!.pod.container?.name, "late");
    // renamed
    fake.containers.get(id)!.name = "renamed";
    fake.emit("rename", id);
    await waitUntil(() => index.lookup(id)!.pod.container?.name === "renamed", "the rename");
  });

  test("the event gate holds an event of an unknown container until it is inspected, in order", async () => {
    const id = hex();
    fake.containers.set(id, { name: "slow", image: "alpine", started: true });
    fake.inspectDelayMs = 200;
    try {
      const cache = new ProcessCache(100);
      cache.pods = index;
      const out: GetEventsResponse[] = [];
      const gate = new DockerEventGate(cache, index, (ev) => out.push(ev), 2000);
      const inCtr = cached(cache, id, 20);
      const host = cached(cache, "", 21);
      gate.push(execEvent(cache, inCtr));
      gate.push(execEvent(cache, host));
      assert.equal(out.length, 0, "held, and the host event behind it");
      await waitUntil(() => out.length === 2, "the released events");
      const p = (out[0].event.value as { process: { pod?: { container?: { name: string } } } }).process;
      assert.equal(p.pod?.container?.name, "slow");
      assert.equal(inCtr.shown?.pod, undefined, "the Process other events share is replaced, not edited");
      assert.equal((out[1].event.value as { process: { pid: number } }).process.pid, 21);
      assert.equal(eventToCompact(out[0], newColorer("never")), "🚀 process slow /usr/bin/echo hi 20");
      assert.equal(eventToCompact(out[1], newColorer("never")), "🚀 process node-a /usr/bin/echo hi 21");
      // known now: the next event passes straight through
      gate.push(execEvent(cache, cached(cache, id, 22)));
      assert.equal(out.length, 3);
      assert.equal(gate.held, 1);
    } finally {
      fake.inspectDelayMs = 0;
    }
  });

  test("an id the daemon does not know is inspected once and not waited for again", async () => {
    const id = hex();
    const cache = new ProcessCache(100);
    cache.pods = index;
    const out: GetEventsResponse[] = [];
    const gate = new DockerEventGate(cache, index, (ev) => out.push(ev), 2000);
    const before = fake.inspects;
    gate.push(execEvent(cache, cached(cache, id, 30)));
    await waitUntil(() => out.length === 1, "the released event");
    assert.equal((out[0].event.value as { process: { pod?: unknown } }).process.pod, undefined);
    gate.push(execEvent(cache, cached(cache, id, 31)));
    assert.equal(out.length, 2, "a known miss passes at once");
    assert.equal(fake.inspects - before, 1);
  });

  test("a Kubernetes pod wins over Docker for the same container", () => {
    const pods = new PodIndex();
    pods.upsert({
      metadata: { name: "web-0", namespace: "shop", uid: "u1" },
      status: { containerStatuses: [{ name: "web", containerID: `docker://${running}`, image: "nginx" }] },
    });
    const cache = new ProcessCache(100);
    cache.pods = new ChainedLookup([pods, index]);
    const p = cache.eventProcess(cached(cache, running, 40));
    assert.equal(p.pod?.namespace, "shop");
    assert.equal(p.pod?.name, "web-0");
  });

  test("a destroyed container stays known for a while (the last events of its processes)", async () => {
    fake.emit("destroy", running);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(index.lookup(running), "still known right after destroy");
  });
});
