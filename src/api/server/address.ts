/**
 * Listen addresses, with Tetragon's rules: `unix:///abs/path` is a unix socket; an
 * address without ':' gets the default port; `:port` means every interface; the empty
 * string disables the listener.
 */

export const DEFAULT_GRPC_PORT = 54321;

export type ListenAddress =
  | { kind: "unix"; path: string; /** as given */ spec: string }
  | { kind: "tcp"; host: string; port: number; spec: string };

export class AddressError extends Error {}

/** Parses a listen address; undefined when it is empty (disabled). */
export function parseListenAddress(addr: string, defaultPort = DEFAULT_GRPC_PORT): ListenAddress | undefined {
  const a = addr.trim();
  if (a === "") return undefined;
  if (a.startsWith("unix://")) {
    const path = a.slice("unix://".length);
    if (!path.startsWith("/")) throw new AddressError(`invalid unix socket address ${JSON.stringify(addr)}: the path must be absolute (unix:///path)`);
    return { kind: "unix", path, spec: a };
  }
  if (a.startsWith("unix:")) {
    const path = a.slice("unix:".length);
    if (!path.startsWith("/")) throw new AddressError(`invalid unix socket address ${JSON.stringify(addr)}: the path must be absolute`);
    return { kind: "unix", path, spec: `unix://${path}` };
  }
  const withPort = a.includes(":") ? a : `${a}:${defaultPort}`;
  const i = withPort.lastIndexOf(":");
  let host = withPort.slice(0, i);
  const portText = withPort.slice(i + 1);
  if (!/^\d+$/.test(portText) || Number(portText) > 65535) {
    throw new AddressError(`invalid address ${JSON.stringify(addr)}: bad port ${JSON.stringify(portText)}`);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { kind: "tcp", host, port: Number(portText), spec: withPort };
}

/** The string grpc-js binds to: `unix:///path`, `host:port`, or `[::]:port` for `:port`. */
export function grpcBindTarget(a: ListenAddress): string {
  if (a.kind === "unix") return `unix://${a.path}`;
  if (a.host === "") return `[::]:${a.port}`;
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
