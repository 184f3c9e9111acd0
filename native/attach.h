// Attaching one program according to a JS AttachSpec ({kind, ...}).
#pragma once

#include <napi.h>

#include "link.h"

struct bpf_program;

namespace tnative {

// Fills `out` with the new link or throws an errno error.
void AttachProgram(Napi::Env env, bpf_program* prog, Napi::Object spec, LinkState& out);

}  // namespace tnative
