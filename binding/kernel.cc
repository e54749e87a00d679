// SPDX-License-Identifier: GPL-2.0-or-later
// Context membership and confinement: xidOfPid(), spectate(), gc(), and
// waitEmpty() - a long wait run on its own thread, answered through a
// ThreadSafeFunction so the event loop and the libuv pool stay free.
#include "common.h"
#include <thread>

namespace vctxb {
namespace {

Napi::Value XidOfPid(const Napi::CallbackInfo &info) {
  const char *usage = "xidOfPid(pid: number) -> number";
  uint32_t pid;
  if (!ArgUint(info, 0, usage, &pid)) return info.Env().Undefined();
  vctx_error err{};
  uint32_t xid = 0;
  if (vctx_xid_of_pid(static_cast<pid_t>(pid), &xid, &err) < 0) {
    ThrowKernelError(info.Env(), err);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), xid);
}

Napi::Value Spectate(const Napi::CallbackInfo &info) {
  // from Node (many threads) the seccomp filter must cover every thread
  vctx_error err{};
  if (vctx_spectate(1, &err) < 0) ThrowKernelError(info.Env(), err);
  return info.Env().Undefined();
}

Napi::Value Gc(const Napi::CallbackInfo &info) {
  vctx_error err{};
  int n = vctx_gc(&err);
  if (n < 0) {
    ThrowKernelError(info.Env(), err);
    return info.Env().Undefined();
  }
  return Napi::Number::New(info.Env(), n);
}

struct WaitResult {
  int rc;
  vctx_error err;
};

Napi::Value WaitEmpty(const Napi::CallbackInfo &info) {
  const char *usage = "waitEmpty(xid: number, timeoutMs: number) -> Promise<void>";
  uint32_t xid;
  int64_t timeout;
  if (!ArgUint(info, 0, usage, &xid) || !ArgInt(info, 1, usage, &timeout)) return info.Env().Undefined();
  Napi::Env env = info.Env();
  auto deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  auto tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo &) {}),
                                            "vctx.waitEmpty", 0, 1);
  std::thread([tsfn, deferred, xid, timeout]() mutable {
    auto *res = new WaitResult{};
    res->rc = vctx_wait_empty(xid, static_cast<int>(timeout), &res->err);
    tsfn.BlockingCall(res, [deferred](Napi::Env env, Napi::Function, WaitResult *r) {
      if (r->rc < 0) {
        ThrowKernelError(env, r->err);
        Napi::Error e = env.GetAndClearPendingException();
        deferred->Reject(e.Value());
      } else {
        deferred->Resolve(env.Undefined());
      }
      delete r;
      delete deferred;
    });
    tsfn.Release();
  }).detach();
  return promise;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("xidOfPid", Napi::Function::New(env, XidOfPid, "xidOfPid"));
  exports.Set("spectate", Napi::Function::New(env, Spectate, "spectate"));
  exports.Set("gc", Napi::Function::New(env, Gc, "gc"));
  exports.Set("waitEmpty", Napi::Function::New(env, WaitEmpty, "waitEmpty"));
}

Registrar reg("kernel", Init);

}  // namespace
}  // namespace vctxb
