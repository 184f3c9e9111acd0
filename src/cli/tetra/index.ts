/**
 * `tetra`, the CLI of tetragon-ts, compatible with Cilium Tetragon's.
 *
 * Contract of this folder:
 *  - One file or folder per subcommand: getevents/, status, version, info, probe,
 *    loglevel, tracingpolicy/ (alias tp). program.ts assembles them; main.ts runs it.
 *  - Global flags (common/options.ts): -d/--debug, --server-address, --timeout (30s),
 *    --retries (1), --max-recv-size. The address is resolved as Tetragon does: the flag,
 *    else server_address of <$TETRAGON_RUN_DIR or /var/run/tetragon>/tetragon-info.json,
 *    else localhost:54321 (common/address.ts).
 *  - Talking to the agent goes through common/client.ts (grpc-js with the protobuf-es
 *    schemas); "nothing listens" fails fast with one clear line.
 *  - Output: stdout carries only the command's result; every error is one
 *    `Error: <message>` line on stderr (gRPC errors as `rpc error: code = X desc = Y`)
 *    and exit code 1 — never a stack trace (common/run.ts).
 *  - getevents prints protojson lines (the export encoding, src/encode/json.ts) or compact
 *    lines (src/encode/compact.ts); when stdin is a pipe or a file it filters and prints
 *    those events locally instead of connecting.
 *  - probe runs locally (src/api/server/kernel-features.ts), no agent needed.
 */
export { buildProgram } from "./program";
export { resolveServerAddress, DEFAULT_SERVER_ADDRESS } from "./common/address";
export { TetraClient, withClient } from "./common/client";
export { CliError, describeError } from "./common/errors";
