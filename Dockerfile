# The agent and tetra as an image. Built from an already built tree (`bash scripts/build.sh`):
# it copies the compiled TypeScript, the native addon, the BPF objects and the production
# npm dependencies, and needs no network. The base image must provide node (>= 20) and the
# shared libraries of the native addon (libbpf1, libelf1, zlib1g), plus a shell and mount.
# scripts/docker-build.sh builds it (it dereferences a symlinked node_modules):
#   bash scripts/docker-build.sh [tag] [base image]
ARG BASE_IMAGE=node:20-bookworm-slim
FROM ${BASE_IMAGE}
WORKDIR /opt/tetragon-ts
COPY package.json ./
COPY bin/ bin/
COPY dist/src/ dist/src/
COPY build/Release/tetragon_native.node build/Release/
COPY bpf/.output/ bpf/.output/
COPY node_modules/ node_modules/
# tetra runs node under its own name (build/tetra-node) so that enforcement spares it
RUN node_bin=$(readlink -f "$(command -v node)") \
 && (ln -f "$node_bin" build/tetra-node 2>/dev/null || cp "$node_bin" build/tetra-node) \
 && ln -sf /opt/tetragon-ts/bin/tetragon /usr/bin/tetragon \
 && ln -sf /opt/tetragon-ts/bin/tetra /usr/bin/tetra
ENTRYPOINT ["/opt/tetragon-ts/bin/tetragon"]
