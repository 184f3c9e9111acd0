#include "globals.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "errors.h"

namespace tnative {
namespace {

bool isGlobalSection(const char* sec) {
  return strcmp(sec, ".rodata") == 0 || strcmp(sec, ".data") == 0 || strcmp(sec, ".bss") == 0 ||
         strncmp(sec, ".rodata.", 8) == 0 || strncmp(sec, ".data.", 6) == 0;
}

// Internal maps are named "<object name prefix><section>" truncated to 15 chars, and
// bpf_object__find_map_by_name also matches the full section name.
bpf_map* mapForSection(bpf_object* obj, const char* sec) {
  if (bpf_map* m = bpf_object__find_map_by_name(obj, sec)) return m;
  size_t secLen = strlen(sec);
  bpf_map* map;
  bpf_object__for_each_map(map, obj) {
    if (!bpf_map__is_internal(map)) continue;
    const char* name = bpf_map__name(map);
    size_t len = strlen(name);
    if (len >= secLen && strcmp(name + len - secLen, sec) == 0) return map;
  }
  return nullptr;
}

}  // namespace

void SetObjectGlobal(Napi::Env env, bpf_object* obj, const std::string& name, const void* data, size_t size) {
  const std::string op = "setGlobal " + name;
  const btf* b = bpf_object__btf(obj);
  if (!b) ThrowErrno(env, op + " (object has no BTF)", ENOENT);

  __u32 n = btf__type_cnt(b);
  for (__u32 id = 1; id < n; id++) {
    const btf_type* t = btf__type_by_id(b, id);
    if (!btf_is_datasec(t)) continue;
    const char* sec = btf__name_by_offset(b, t->name_off);
    if (!sec || !isGlobalSection(sec)) continue;

    const btf_var_secinfo* vsi = btf_var_secinfos(t);
    for (__u16 i = 0; i < btf_vlen(t); i++, vsi++) {
      const btf_type* var = btf__type_by_id(b, vsi->type);
      if (!var || !btf_is_var(var)) continue;
      const char* varName = btf__name_by_offset(b, var->name_off);
      if (!varName || name != varName) continue;

      if (vsi->size != size) {
        ThrowErrno(env, op + " (variable is " + std::to_string(vsi->size) + " bytes, value is " +
                            std::to_string(size) + ")",
                   EINVAL);
      }
      bpf_map* map = mapForSection(obj, sec);
      if (!map) ThrowErrno(env, op + " (no map for section " + sec + ")", ENOENT);

      size_t mapSize = 0;
      const void* init = bpf_map__initial_value(map, &mapSize);
      if (!init || size_t(vsi->offset) + size > mapSize) {
        ThrowErrno(env, op + " (section " + sec + " has no initial value)", EINVAL);
      }
      std::vector<unsigned char> copy(static_cast<const unsigned char*>(init),
                                      static_cast<const unsigned char*>(init) + mapSize);
      memcpy(copy.data() + vsi->offset, data, size);
      int err = bpf_map__set_initial_value(map, copy.data(), copy.size());
      if (err) ThrowErrno(env, op, err);
      return;
    }
  }
  ThrowErrno(env, op + " (no such global)", ENOENT);
}

}  // namespace tnative
