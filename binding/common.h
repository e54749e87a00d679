// SPDX-License-Identifier: GPL-2.0-or-later
// Shared glue for the node-addon-api binding: registration of each
// binding file's functions, argument checks with usage strings, and
// mapping of vctx_error (errno + message) to the TS KernelError class.
#pragma once
#include <napi.h>
#include <string>
#include <vector>
extern "C" {
#include "vctx.h"
}

namespace vctxb {

using InitFn = void (*)(Napi::Env env, Napi::Object exports);

// Each binding/*.cc registers its functions with a static Registrar.
struct Registrar {
  Registrar(const char *name, InitFn fn);
};
const std::vector<std::pair<const char *, InitFn>> &registrars();

// Throws a KernelError (the class TS handed over with setErrorClass) made
// from err; falls back to a plain Error before setErrorClass was called.
void ThrowKernelError(Napi::Env env, const vctx_error &err);

// Argument checks: throw a TypeError naming the usage and return false.
bool CheckArgs(const Napi::CallbackInfo &info, size_t min, const char *usage);
bool ArgUint(const Napi::CallbackInfo &info, size_t i, const char *usage, uint32_t *out);
bool ArgInt(const Napi::CallbackInfo &info, size_t i, const char *usage, int64_t *out);
bool ArgString(const Napi::CallbackInfo &info, size_t i, const char *usage, std::string *out);

}  // namespace vctxb
