#include "object.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>

#include "attach.h"
#include "errors.h"
#include "globals.h"

namespace tnative {

void BpfObject::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "BpfObject",
                                    {
                                        InstanceMethod<&BpfObject::SetGlobal>("setGlobal"),
                                        InstanceMethod<&BpfObject::SetMapMaxEntries>("setMapMaxEntries"),
                                        InstanceMethod<&BpfObject::SetMapPinPath>("setMapPinPath"),
                                        InstanceMethod<&BpfObject::SetProgramAutoload>("setProgramAutoload"),
                                        InstanceMethod<&BpfObject::SetAttachTarget>("setAttachTarget"),
                                        InstanceMethod<&BpfObject::Load>("load"),
                                        InstanceMethod<&BpfObject::Programs>("programs"),
                                        InstanceMethod<&BpfObject::Maps>("maps"),
                                        InstanceMethod<&BpfObject::MapFd>("mapFd"),
                                        InstanceMethod<&BpfObject::ProgFd>("progFd"),
                                        InstanceMethod<&BpfObject::Attach>("attach"),
                                        InstanceMethod<&BpfObject::Close>("close"),
                                    });
  exports.Set("BpfObject", ctor);
}

BpfObject::BpfObject(const Napi::CallbackInfo& info) : Napi::ObjectWrap<BpfObject>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) ThrowErrno(env, "BpfObject (objectPath must be a string)", EINVAL);
  std::string path = info[0].As<Napi::String>();

  std::string btfPath;
  if (info[1].IsObject()) {
    Napi::Object o = info[1].As<Napi::Object>();
    Napi::Value v = o.Get("btfCustomPath");
    if (v.IsString()) btfPath = v.As<Napi::String>();
    v = o.Get("kernelLogLevel");
    if (v.IsNumber()) kernelLogLevel_ = v.As<Napi::Number>().Int32Value();
  }

  OpScope scope(kernelLogLevel_);
  bpf_object_open_opts opts{};
  opts.sz = sizeof(opts);
  opts.btf_custom_path = btfPath.empty() ? nullptr : btfPath.c_str();
  opts.kernel_log_level = static_cast<__u32>(kernelLogLevel_ > 0 ? kernelLogLevel_ : 0);
  obj_ = bpf_object__open_file(path.c_str(), &opts);
  if (!obj_) {
    int err = errno;
    ThrowErrno(env, "bpf_object__open_file " + path, err);
  }
}

BpfObject::~BpfObject() { closeAll(); }

void BpfObject::closeAll() {
  for (auto& l : links_) l->destroy();
  links_.clear();
  if (obj_) {
    bpf_object__close(obj_);
    obj_ = nullptr;
  }
}

bpf_object* BpfObject::obj(Napi::Env env, const char* op) const {
  if (!obj_) ThrowErrno(env, std::string(op) + " (object is closed)", EBADF);
  return obj_;
}

bpf_map* BpfObject::findMap(Napi::Env env, const std::string& name, const char* op) const {
  bpf_map* m = bpf_object__find_map_by_name(obj(env, op), name.c_str());
  if (!m) ThrowErrno(env, std::string(op) + " " + name + " (no such map)", ENOENT);
  return m;
}

bpf_program* BpfObject::findProg(Napi::Env env, const std::string& name, const char* op) const {
  bpf_program* p = bpf_object__find_program_by_name(obj(env, op), name.c_str());
  if (!p) ThrowErrno(env, std::string(op) + " " + name + " (no such program)", ENOENT);
  return p;
}

void BpfObject::SetGlobal(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope(kernelLogLevel_);
  std::string name = info[0].As<Napi::String>();
  if (!info[1].IsBuffer()) ThrowErrno(env, "setGlobal " + name + " (value must be a Buffer)", EINVAL);
  auto buf = info[1].As<Napi::Buffer<uint8_t>>();
  SetObjectGlobal(env, obj(env, "setGlobal"), name, buf.Data(), buf.Length());
}

void BpfObject::SetMapMaxEntries(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope(kernelLogLevel_);
  std::string name = info[0].As<Napi::String>();
  uint32_t n = info[1].As<Napi::Number>().Uint32Value();
  int err = bpf_map__set_max_entries(findMap(env, name, "setMapMaxEntries"), n);
  if (err) ThrowErrno(env, "setMapMaxEntries " + name, err);
}

void BpfObject::SetMapPinPath(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope(kernelLogLevel_);
  std::string name = info[0].As<Napi::String>();
  std::string path = info[1].As<Napi::String>();
  int err = bpf_map__set_pin_path(findMap(env, name, "setMapPinPath"), path.c_str());
  if (err) ThrowErrno(env, "setMapPinPath " + name, err);
}

void BpfObject::SetProgramAutoload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope(kernelLogLevel_);
  std::string name = info[0].As<Napi::String>();
  bool on = info[1].ToBoolean().Value();
  int err = bpf_program__set_autoload(findProg(env, name, "setProgramAutoload"), on);
  if (err) ThrowErrno(env, "setProgramAutoload " + name, err);
}

// fentry/fexit/LSM programs name their kernel function (or LSM hook) before load.
void BpfObject::SetAttachTarget(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope(kernelLogLevel_);
  std::string name = info[0].As<Napi::String>();
  std::string target = info[1].As<Napi::String>();
  int err = bpf_program__set_attach_target(findProg(env, name, "setAttachTarget"), 0, target.c_str());
  if (err) ThrowErrno(env, "setAttachTarget " + name + " " + target, err);
}

void BpfObject::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope(kernelLogLevel_);
  bpf_object* o = obj(env, "bpf_object__load");
  int err = bpf_object__load(o);
  if (err) ThrowErrno(env, std::string("bpf_object__load ") + bpf_object__name(o), err);
}

Napi::Value BpfObject::Programs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  bpf_program* p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, obj(env, "programs")) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("section", bpf_program__section_name(p));
    o.Set("type", Napi::Number::New(env, bpf_program__type(p)));
    o.Set("autoload", Napi::Boolean::New(env, bpf_program__autoload(p)));
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BpfObject::Maps(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  bpf_map* m;
  uint32_t i = 0;
  bpf_object__for_each_map(m, obj(env, "maps")) {
    int fd = bpf_map__fd(m);
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", bpf_map__name(m));
    o.Set("type", Napi::Number::New(env, bpf_map__type(m)));
    o.Set("keySize", Napi::Number::New(env, bpf_map__key_size(m)));
    o.Set("valueSize", Napi::Number::New(env, bpf_map__value_size(m)));
    o.Set("maxEntries", Napi::Number::New(env, bpf_map__max_entries(m)));
    o.Set("fd", Napi::Number::New(env, fd < 0 ? -1 : fd));
    out.Set(i++, o);
  }
  return out;
}

Napi::Value BpfObject::MapFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  int fd = bpf_map__fd(findMap(env, name, "mapFd"));
  if (fd < 0) ThrowErrno(env, "mapFd " + name + " (not loaded)", EBADF);
  return Napi::Number::New(env, fd);
}

Napi::Value BpfObject::ProgFd(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  int fd = bpf_program__fd(findProg(env, name, "progFd"));
  if (fd < 0) ThrowErrno(env, "progFd " + name + " (not loaded)", EBADF);
  return Napi::Number::New(env, fd);
}

Napi::Value BpfObject::Attach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpScope scope(kernelLogLevel_);
  std::string name = info[0].As<Napi::String>();
  if (!info[1].IsObject()) ThrowErrno(env, "attach " + name + " (spec must be an object)", EINVAL);
  bpf_program* prog = findProg(env, name, "attach");
  auto state = std::make_shared<LinkState>();
  AttachProgram(env, prog, info[1].As<Napi::Object>(), *state);
  links_.erase(std::remove_if(links_.begin(), links_.end(), [](const auto& l) { return !l->link && l->rawFd < 0; }),
               links_.end());
  links_.push_back(state);
  return Link::Create(env, state, Value());
}

void BpfObject::Close(const Napi::CallbackInfo&) { closeAll(); }

}  // namespace tnative
