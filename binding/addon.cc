// SPDX-License-Identifier: GPL-2.0-or-later
// Module entry: setErrorClass + every registered binding file.
#include "common.h"
#include <cerrno>
#include <cstring>

namespace vctxb {

static std::vector<std::pair<const char *, InitFn>> &mutable_registrars() {
  static std::vector<std::pair<const char *, InitFn>> list;
  return list;
}
Registrar::Registrar(const char *name, InitFn fn) { mutable_registrars().emplace_back(name, fn); }
const std::vector<std::pair<const char *, InitFn>> &registrars() { return mutable_registrars(); }

static Napi::FunctionReference *error_class = nullptr;

void ThrowKernelError(Napi::Env env, const vctx_error &err) {
  const char *code = err.err ? strerrorname_np(err.err) : nullptr;
  if (error_class && !error_class->IsEmpty()) {
    Napi::Object e = error_class->New({Napi::String::New(env, err.msg),
                                      Napi::Number::New(env, err.err),
                                      Napi::String::New(env, code ? code : ""),
                                      Napi::String::New(env, vctx_err_kind_name(err.kind))});
    Napi::Error(env, e).ThrowAsJavaScriptException();
    return;
  }
  Napi::Error::New(env, err.msg).ThrowAsJavaScriptException();
}

bool CheckArgs(const Napi::CallbackInfo &info, size_t min, const char *usage) {
  if (info.Length() < min) {
    Napi::TypeError::New(info.Env(), std::string("usage: ") + usage).ThrowAsJavaScriptException();
    return false;
  }
  return true;
}

bool ArgUint(const Napi::CallbackInfo &info, size_t i, const char *usage, uint32_t *out) {
  if (i >= info.Length() || !info[i].IsNumber() || info[i].As<Napi::Number>().DoubleValue() < 0) {
    Napi::TypeError::New(info.Env(), std::string("usage: ") + usage).ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Number>().Uint32Value();
  return true;
}

bool ArgInt(const Napi::CallbackInfo &info, size_t i, const char *usage, int64_t *out) {
  if (i >= info.Length() || !info[i].IsNumber()) {
    Napi::TypeError::New(info.Env(), std::string("usage: ") + usage).ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::Number>().Int64Value();
  return true;
}

bool ArgString(const Napi::CallbackInfo &info, size_t i, const char *usage, std::string *out) {
  if (i >= info.Length() || !info[i].IsString()) {
    Napi::TypeError::New(info.Env(), std::string("usage: ") + usage).ThrowAsJavaScriptException();
    return false;
  }
  *out = info[i].As<Napi::String>().Utf8Value();
  return true;
}

static Napi::Value SetErrorClass(const Napi::CallbackInfo &info) {
  if (info.Length() < 1 || !info[0].IsFunction()) {
    Napi::TypeError::New(info.Env(), "usage: setErrorClass(KernelError)").ThrowAsJavaScriptException();
    return info.Env().Undefined();
  }
  delete error_class;
  error_class = new Napi::FunctionReference(Napi::Persistent(info[0].As<Napi::Function>()));
  return info.Env().Undefined();
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, SetErrorClass, "setErrorClass"));
  for (const auto &r : registrars()) r.second(env, exports);
  return exports;
}

}  // namespace vctxb

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return vctxb::Init(env, exports); }
NODE_API_MODULE(vctx, InitModule)
