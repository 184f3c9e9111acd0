/**
 * Binding a grpc-js server to a listen address: unix sockets get their directory, a stale
 * socket file is removed (a live one is refused) and the mode is set to 0660; `:port`
 * falls back to IPv4 when the host has no IPv6. Errors say which address failed.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { grpcBindTarget, type ListenAddress } from "./address";

function bindAsync(server: grpc.Server, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(new Error(`could not listen on ${target}: ${err.message}`, { cause: err })) : resolve(port));
  });
}

/** Whether something accepts connections on the unix socket `p`. */
function socketIsLive(p: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(p);
    const done = (live: boolean): void => {
      s.destroy();
      resolve(live);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/** Removes a stale socket file left by an agent that did not stop cleanly; refuses a live one. */
async function prepareUnixSocket(p: string): Promise<void> {
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return; // does not exist
  }
  if (!st.isSocket()) throw new Error(`could not listen on unix://${p}: the path exists and is not a socket`);
  if (await socketIsLive(p)) throw new Error(`could not listen on unix://${p}: another process serves this socket`);
  fs.unlinkSync(p);
}

export async function bindAddress(server: grpc.Server, a: ListenAddress): Promise<void> {
  if (a.kind === "unix") {
    await prepareUnixSocket(a.path);
    await bindAsync(server, grpcBindTarget(a));
    fs.chmodSync(a.path, 0o660);
    return;
  }
  try {
    await bindAsync(server, grpcBindTarget(a));
  } catch (err) {
    if (a.host !== "") throw err;
    await bindAsync(server, `0.0.0.0:${a.port}`); // no IPv6 on this host
  }
}
