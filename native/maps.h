// Free functions on raw fds: map element ops, pinning, probes.
#pragma once

#include <napi.h>

namespace tnative {

void InitMapFunctions(Napi::Env env, Napi::Object exports);

}  // namespace tnative
