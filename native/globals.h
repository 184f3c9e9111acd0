// Overwriting global variables (.rodata/.data/.bss) of an opened, not yet loaded object.
#pragma once

#include <napi.h>

#include <cstddef>
#include <string>

struct bpf_object;

namespace tnative {

void SetObjectGlobal(Napi::Env env, bpf_object* obj, const std::string& name, const void* data, size_t size);

}  // namespace tnative
