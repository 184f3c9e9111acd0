// Attaching one program according to a JS AttachSpec ({kind, ...}).
#pragma once

#include <napi.h>

struct bpf_link;
struct bpf_program;

namespace tnative {

// Returns the new link or throws an errno error.
bpf_link* AttachProgram(Napi::Env env, bpf_program* prog, Napi::Object spec);

}  // namespace tnative
