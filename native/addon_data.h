// Per-environment state (constructors), stored with napi_set_instance_data.
#pragma once

#include <napi.h>

namespace tnative {

struct AddonData {
  Napi::FunctionReference linkCtor;

  static AddonData* Get(Napi::Env env) { return env.GetInstanceData<AddonData>(); }
};

}  // namespace tnative
