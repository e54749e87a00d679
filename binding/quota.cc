// SPDX-License-Identifier: GPL-2.0-or-later
// Disk limits (DISK_MAX): libvctx's project quotas (kernel/lib/quota.c).
//   quotaProbe(path) -> {fsType, devMajor, devMinor, accounting, enforced, quotaErrno, projidOk}
//   quotaProjectOf(root) -> {projectId, inherit}
//   quotaApply(root, bytes) -> {projectId, tagged, skipped}
//   quotaTagTree(root, projectId) -> {tagged, skipped}
//   quotaSet(path, projectId, bytes) -> void
//   quotaGet(path, projectId) -> {usedBytes, limitBytes, inodes}
#include "common.h"

namespace vctxb {
namespace {

bool ArgBytes(const Napi::CallbackInfo &info, size_t i, const char *usage, uint64_t *out) {
  if (info.Length() <= i || !info[i].IsNumber() || info[i].As<Napi::Number>().DoubleValue() < 0) {
    Napi::TypeError::New(info.Env(), std::string("usage: ") + usage).ThrowAsJavaScriptException();
    return false;
  }
  *out = static_cast<uint64_t>(info[i].As<Napi::Number>().DoubleValue());
  return true;
}

Napi::Value QuotaProbe(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path;
  if (!ArgString(info, 0, "quotaProbe(path: string) -> object", &path)) return env.Undefined();
  vctx_error err{};
  vctx_quota_fs fs{};
  if (vctx_quota_probe(path.c_str(), &fs, &err) < 0) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("fsType", static_cast<double>(fs.fs_type));
  o.Set("devMajor", fs.dev_major);
  o.Set("devMinor", fs.dev_minor);
  o.Set("accounting", Napi::Boolean::New(env, fs.accounting != 0));
  o.Set("enforced", Napi::Boolean::New(env, fs.enforced != 0));
  o.Set("quotaErrno", fs.quota_errno);
  o.Set("projidOk", Napi::Boolean::New(env, fs.projid_ok != 0));
  return o;
}

Napi::Value QuotaProjectOf(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string root;
  if (!ArgString(info, 0, "quotaProjectOf(root: string) -> {projectId, inherit}", &root)) return env.Undefined();
  vctx_error err{};
  uint32_t id = 0;
  int inherit = 0;
  if (vctx_quota_project_of(root.c_str(), &id, &inherit, &err) < 0) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("projectId", id);
  o.Set("inherit", Napi::Boolean::New(env, inherit != 0));
  return o;
}

Napi::Object TagStats(Napi::Env env, const vctx_quota_tag_stats &st) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("tagged", static_cast<double>(st.tagged));
  o.Set("skipped", static_cast<double>(st.skipped));
  return o;
}

Napi::Value QuotaApply(const Napi::CallbackInfo &info) {
  const char *usage = "quotaApply(root: string, bytes: number) -> {projectId, tagged, skipped}";
  Napi::Env env = info.Env();
  std::string root;
  uint64_t bytes;
  if (!ArgString(info, 0, usage, &root) || !ArgBytes(info, 1, usage, &bytes)) return env.Undefined();
  vctx_error err{};
  uint32_t id = 0;
  vctx_quota_tag_stats st{};
  if (vctx_quota_apply(root.c_str(), bytes, &id, &st, &err) < 0) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  Napi::Object o = TagStats(env, st);
  o.Set("projectId", id);
  return o;
}

Napi::Value QuotaTagTree(const Napi::CallbackInfo &info) {
  const char *usage = "quotaTagTree(root: string, projectId: number) -> {tagged, skipped}";
  Napi::Env env = info.Env();
  std::string root;
  uint32_t id;
  if (!ArgString(info, 0, usage, &root) || !ArgUint(info, 1, usage, &id)) return env.Undefined();
  vctx_error err{};
  vctx_quota_tag_stats st{};
  if (vctx_quota_tag_tree(root.c_str(), id, &st, &err) < 0) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  return TagStats(env, st);
}

Napi::Value QuotaSet(const Napi::CallbackInfo &info) {
  const char *usage = "quotaSet(path: string, projectId: number, bytes: number) -> void";
  Napi::Env env = info.Env();
  std::string path;
  uint32_t id;
  uint64_t bytes;
  if (!ArgString(info, 0, usage, &path) || !ArgUint(info, 1, usage, &id) || !ArgBytes(info, 2, usage, &bytes))
    return env.Undefined();
  vctx_error err{};
  if (vctx_quota_set(path.c_str(), id, bytes, &err) < 0) ThrowKernelError(env, err);
  return env.Undefined();
}

Napi::Value QuotaGet(const Napi::CallbackInfo &info) {
  const char *usage = "quotaGet(path: string, projectId: number) -> {usedBytes, limitBytes, inodes}";
  Napi::Env env = info.Env();
  std::string path;
  uint32_t id;
  if (!ArgString(info, 0, usage, &path) || !ArgUint(info, 1, usage, &id)) return env.Undefined();
  vctx_error err{};
  vctx_quota_use u{};
  if (vctx_quota_get(path.c_str(), id, &u, &err) < 0) {
    ThrowKernelError(env, err);
    return env.Undefined();
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("usedBytes", static_cast<double>(u.used_bytes));
  o.Set("limitBytes", static_cast<double>(u.limit_bytes));
  o.Set("inodes", static_cast<double>(u.inodes));
  return o;
}

void Init(Napi::Env env, Napi::Object exports) {
  exports.Set("quotaProbe", Napi::Function::New(env, QuotaProbe, "quotaProbe"));
  exports.Set("quotaProjectOf", Napi::Function::New(env, QuotaProjectOf, "quotaProjectOf"));
  exports.Set("quotaApply", Napi::Function::New(env, QuotaApply, "quotaApply"));
  exports.Set("quotaTagTree", Napi::Function::New(env, QuotaTagTree, "quotaTagTree"));
  exports.Set("quotaSet", Napi::Function::New(env, QuotaSet, "quotaSet"));
  exports.Set("quotaGet", Napi::Function::New(env, QuotaGet, "quotaGet"));
}

Registrar reg("quota", Init);

}  // namespace
}  // namespace vctxb
