// JS wrapper of a struct bpf_object (open, tweak before load, load, attach, close).
#pragma once

#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "link.h"

struct bpf_object;
struct bpf_map;
struct bpf_program;

namespace tnative {

class BpfObject : public Napi::ObjectWrap<BpfObject> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit BpfObject(const Napi::CallbackInfo& info);
  ~BpfObject() override;

 private:
  void SetGlobal(const Napi::CallbackInfo& info);
  void SetMapMaxEntries(const Napi::CallbackInfo& info);
  void SetMapPinPath(const Napi::CallbackInfo& info);
  void SetProgramAutoload(const Napi::CallbackInfo& info);
  void SetAttachTarget(const Napi::CallbackInfo& info);
  void Load(const Napi::CallbackInfo& info);
  Napi::Value Programs(const Napi::CallbackInfo& info);
  Napi::Value Maps(const Napi::CallbackInfo& info);
  Napi::Value MapFd(const Napi::CallbackInfo& info);
  Napi::Value ProgFd(const Napi::CallbackInfo& info);
  Napi::Value Attach(const Napi::CallbackInfo& info);
  void Close(const Napi::CallbackInfo& info);

  bpf_object* obj(Napi::Env env, const char* op) const;
  bpf_map* findMap(Napi::Env env, const std::string& name, const char* op) const;
  bpf_program* findProg(Napi::Env env, const std::string& name, const char* op) const;
  void closeAll();

  bpf_object* obj_ = nullptr;
  int kernelLogLevel_ = 0;
  std::vector<std::shared_ptr<LinkState>> links_;
};

}  // namespace tnative
