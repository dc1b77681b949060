// The N-API binding: the only file that includes napi.h.
//
// It owns tensor storage (type-tagged handles over reference-counted host buffers) and
// exposes each kernel as a thin wrapper that validates everything coming from JS again
// (argument types, integer dims, handle tags, disposed handles, dtypes, buffer lengths
// against the dims) before any pointer reaches a kernel. A kernel's status becomes a JS
// error of the class that TS registered for it (src/errors.ts), so `instanceof` works.
#include <napi.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lmt/lmt.h"
#ifdef LMT_WITH_CUDA
#include "lmt/lmt_cuda.h"
#endif

namespace {

// ---- storage ------------------------------------------------------------------------------
struct Storage {
  void* data = nullptr;  // host memory, or device memory when device == LMT_CUDA
  size_t bytes = 0;
  int64_t numel = 0;
  lmt_dtype dtype = LMT_F32;
  lmt_device device = LMT_CPU;
  ~Storage();
};

std::atomic<int64_t> g_live_handles{0};
std::atomic<int64_t> g_live_storages{0};
std::atomic<int64_t> g_live_bytes{0};
std::atomic<int64_t> g_live_cuda_bytes{0};

Storage::~Storage() {
  // data is null when the allocation failed (OOM): nothing to free, nothing was counted.
  if (data) {
#ifdef LMT_WITH_CUDA
    if (device == LMT_CUDA) {
      lmt_cuda_free(data, bytes);
      g_live_cuda_bytes -= (int64_t)bytes;
    } else
#endif
    {
      lmt_host_free(data, bytes);
      g_live_bytes -= (int64_t)bytes;
    }
  }
  g_live_storages--;
}

const char* dtype_name(lmt_dtype d) { return d == LMT_F32 ? "float32" : "int32"; }
const char* device_name(lmt_device d) { return d == LMT_CUDA ? "cuda" : "cpu"; }

// Per-environment state: error classes handed over by TS, the handle constructor.
struct AddonData {
  Napi::FunctionReference tensor_ctor;
  Napi::ObjectReference error_classes;  // { ArgumentError, ShapeError, ... }
};

// Thrown inside wrappers; converted to the registered JS class at the boundary.
struct JsError {
  const char* cls;  // key into error_classes
  std::string code;
  std::string message;
};

[[noreturn]] void fail(const char* cls, const char* code, const std::string& msg) {
  throw JsError{cls, code, msg};
}

const char* class_for_status(lmt_status s) {
  switch (s) {
    case LMT_ERR_INVALID_ARG: return "ArgumentError";
    case LMT_ERR_SHAPE: return "ShapeError";
    case LMT_ERR_INDEX: return "IndexError";
    case LMT_ERR_OOM: return "OutOfMemoryError";
    case LMT_ERR_DEVICE: return "DeviceError";
    default: return "NativeError";
  }
}

void check(lmt_status s) {
  if (s != LMT_OK) fail(class_for_status(s), lmt_status_name(s), lmt_last_error());
}

Napi::Error make_error(Napi::Env env, const JsError& e) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Value ctor;
  if (data && !data->error_classes.IsEmpty()) ctor = data->error_classes.Value().Get(e.cls);
  Napi::Object err;
  if (ctor.IsFunction()) {
    err = ctor.As<Napi::Function>().New({Napi::String::New(env, e.message)});
  } else {
    err = Napi::Error::New(env, e.message).Value();
  }
  err.Set("code", Napi::String::New(env, e.code));
  return Napi::Error(env, err);
}

// ---- the tensor handle ----------------------------------------------------------------------
const napi_type_tag kTensorTag = {0x6c6d7472616e6e31ULL, 0x74656e736f72ab01ULL};

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "TensorHandle",
                       {InstanceMethod("dispose", &TensorHandle::Dispose),
                        InstanceAccessor("disposed", &TensorHandle::Disposed, nullptr),
                        InstanceAccessor("numel", &TensorHandle::Numel, nullptr),
                        InstanceAccessor("dtype", &TensorHandle::DType, nullptr),
                        InstanceAccessor("bytes", &TensorHandle::Bytes, nullptr),
                        InstanceAccessor("refs", &TensorHandle::Refs, nullptr)});
  }

  explicit TensorHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorHandle>(info) {
    info.This().As<Napi::Object>().TypeTag(&kTensorTag);
    g_live_handles++;
  }
  ~TensorHandle() override { release(); }

  std::shared_ptr<Storage> storage;

  void release() {
    if (released_) return;
    released_ = true;
    storage.reset();
    g_live_handles--;
  }

 private:
  bool released_ = false;
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    release();
    return info.Env().Undefined();
  }
  Napi::Value Disposed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), storage == nullptr);
  }
  Napi::Value Numel(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), storage ? (double)storage->numel : 0);
  }
  Napi::Value DType(const Napi::CallbackInfo& info) {
    return Napi::String::New(info.Env(), storage ? dtype_name(storage->dtype) : "disposed");
  }
  Napi::Value Bytes(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), storage ? (double)storage->bytes : 0);
  }
  Napi::Value Refs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), storage ? (double)storage.use_count() : 0);
  }
};

// Creates a JS handle owning `st`.
Napi::Object wrap(Napi::Env env, std::shared_ptr<Storage> st) {
  auto* data = env.GetInstanceData<AddonData>();
  Napi::Object obj = data->tensor_ctor.New({});
  TensorHandle::Unwrap(obj)->storage = std::move(st);
  return obj;
}

std::shared_ptr<Storage> new_storage(lmt_dtype dtype, int64_t numel, lmt_device device = LMT_CPU) {
  auto st = std::make_shared<Storage>();
  st->dtype = dtype;
  st->numel = numel;
  st->bytes = (size_t)numel * 4;
  st->device = device;
  g_live_storages++;
#ifdef LMT_WITH_CUDA
  if (device == LMT_CUDA) {
    check(lmt_cuda_malloc(&st->data, st->bytes));
    g_live_cuda_bytes += (int64_t)st->bytes;
    return st;
  }
#endif
  if (device != LMT_CPU) fail("DeviceError", "LMT_ERR_DEVICE", "this binary was built without CUDA");
  check(lmt_host_alloc(&st->data, st->bytes));
  g_live_bytes += (int64_t)st->bytes;
  return st;
}

// Host <-> device copies of whole storages of the same size.
void copy_bytes(Storage* dst, const void* src_host, size_t bytes) {
  if (!bytes) return;
#ifdef LMT_WITH_CUDA
  if (dst->device == LMT_CUDA) return check(lmt_cuda_memcpy_h2d(dst->data, src_host, bytes));
#endif
  std::memcpy(dst->data, src_host, bytes);
}
void read_bytes(void* dst_host, const Storage* src, size_t bytes) {
  if (!bytes) return;
#ifdef LMT_WITH_CUDA
  if (src->device == LMT_CUDA) return check(lmt_cuda_memcpy_d2h(dst_host, src->data, bytes));
#endif
  std::memcpy(dst_host, src->data, bytes);
}

// ---- argument reading -----------------------------------------------------------------------
constexpr int64_t kMaxElems = (int64_t)1 << 40;  // 4 TiB of fp32: beyond any real tensor

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn, size_t expected)
      : info_(info), fn_(fn) {
    if (info.Length() != expected)
      fail("ArgumentError", "LMT_ERR_INVALID_ARG",
           std::string(fn) + ": expected " + std::to_string(expected) + " arguments, got " +
               std::to_string(info.Length()));
  }

  std::string where(size_t i, const char* name) const {
    return std::string(fn_) + ": argument " + std::to_string(i) + " ('" + name + "')";
  }

  // A live handle of any dtype (the type tag rejects foreign objects before Unwrap).
  TensorHandle* handle(size_t i, const char* name) {
    Napi::Value v = info_[i];
    if (!v.IsObject() || !v.As<Napi::Object>().CheckTypeTag(&kTensorTag))
      fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " is not a tensor handle");
    TensorHandle* h = TensorHandle::Unwrap(v.As<Napi::Object>());
    if (!h || !h->storage)
      fail("DisposedTensorError", "LMT_ERR_DISPOSED", where(i, name) + " was disposed");
    return h;
  }

  Storage* tensor(size_t i, const char* name, lmt_dtype dtype, int64_t need, bool nullable = false) {
    Napi::Value v = info_[i];
    if (nullable && (v.IsNull() || v.IsUndefined())) return nullptr;
    Storage* st = handle(i, name)->storage.get();
    see_device(st, i, name);
    if (st->dtype != dtype)
      fail("DTypeError", "LMT_ERR_DTYPE",
           where(i, name) + " must be " + dtype_name(dtype) + ", got " + dtype_name(st->dtype));
    if (need > st->numel)
      fail("ShapeError", "LMT_ERR_SHAPE",
           where(i, name) + " holds " + std::to_string(st->numel) + " elements, the dims need " +
               std::to_string(need));
    return st;
  }
  float* f32(size_t i, const char* name, int64_t need, bool nullable = false) {
    Storage* s = tensor(i, name, LMT_F32, need, nullable);
    return s ? (float*)s->data : nullptr;
  }
  int32_t* i32(size_t i, const char* name, int64_t need, bool nullable = false) {
    Storage* s = tensor(i, name, LMT_I32, need, nullable);
    return s ? (int32_t*)s->data : nullptr;
  }
  // The element count of a tensor argument (used where a kernel runs over a whole tensor).
  int64_t numel(size_t i, const char* name, lmt_dtype dtype) {
    return tensor(i, name, dtype, 0)->numel;
  }

  double number(size_t i, const char* name, bool allow_inf = false) {
    Napi::Value v = info_[i];
    if (!v.IsNumber()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (std::isnan(d) || (!allow_inf && std::isinf(d)))
      fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must be finite, got " + std::to_string(d));
    return d;
  }
  float f(size_t i, const char* name, bool allow_inf = false) {
    double d = number(i, name, allow_inf);
    if (std::isfinite(d) && std::fabs(d) > 3.4e38)
      fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " overflows float32");
    return (float)d;
  }
  // A non-negative integer size, at most kMaxElems.
  int64_t dim(size_t i, const char* name) {
    double d = number(i, name);
    if (d < 0 || d != std::floor(d) || d > (double)kMaxElems)
      fail("ArgumentError", "LMT_ERR_INVALID_ARG",
           where(i, name) + " must be an integer in [0, 2^40], got " + std::to_string(d));
    return (int64_t)d;
  }
  // Any integer (ignore_index may be negative), within int32.
  int32_t i32scalar(size_t i, const char* name) {
    double d = number(i, name);
    if (d != std::floor(d) || d < -2147483648.0 || d > 2147483647.0)
      fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must be an int32");
    return (int32_t)d;
  }
  uint64_t u53(size_t i, const char* name) {
    double d = number(i, name);
    if (d < 0 || d != std::floor(d) || d > 9007199254740991.0)
      fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must be an integer in [0, 2^53)");
    return (uint64_t)d;
  }
  bool flag(size_t i, const char* name) {
    Napi::Value v = info_[i];
    if (!v.IsBoolean()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  std::vector<int64_t> dims(size_t i, const char* name, size_t max_len = 8) {
    Napi::Value v = info_[i];
    if (!v.IsArray()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must be an array of integers");
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() > max_len)
      fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " has more than " + std::to_string(max_len) + " entries");
    std::vector<int64_t> out(a.Length());
    for (uint32_t k = 0; k < a.Length(); ++k) {
      Napi::Value e = a.Get(k);
      if (!e.IsNumber()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must hold only numbers");
      double d = e.As<Napi::Number>().DoubleValue();
      if (!(d >= 0) || d != std::floor(d) || d > (double)kMaxElems)
        fail("ArgumentError", "LMT_ERR_INVALID_ARG",
             where(i, name) + "[" + std::to_string(k) + "] must be an integer in [0, 2^40]");
      out[k] = (int64_t)d;
    }
    return out;
  }
  std::vector<Storage*> tensor_list(size_t i, const char* name) {
    Napi::Value v = info_[i];
    if (!v.IsArray()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " must be an array of tensor handles");
    Napi::Array a = v.As<Napi::Array>();
    if (a.Length() > 1000000) fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + " is too long");
    std::vector<Storage*> out;
    for (uint32_t k = 0; k < a.Length(); ++k) {
      Napi::Value e = a.Get(k);
      if (!e.IsObject() || !e.As<Napi::Object>().CheckTypeTag(&kTensorTag))
        fail("ArgumentError", "LMT_ERR_INVALID_ARG", where(i, name) + "[" + std::to_string(k) + "] is not a tensor handle");
      TensorHandle* h = TensorHandle::Unwrap(e.As<Napi::Object>());
      if (!h->storage)
        fail("DisposedTensorError", "LMT_ERR_DISPOSED", where(i, name) + "[" + std::to_string(k) + "] was disposed");
      if (h->storage->dtype != LMT_F32)
        fail("DTypeError", "LMT_ERR_DTYPE", where(i, name) + "[" + std::to_string(k) + "] must be float32");
      see_device(h->storage.get(), i, name);
      out.push_back(h->storage.get());
    }
    return out;
  }

  const Napi::CallbackInfo& info() const { return info_; }
  // True when the tensor arguments read so far live on the GPU (they must all agree).
  bool cuda() const { return have_dev_ && dev_ == LMT_CUDA; }

 private:
  const Napi::CallbackInfo& info_;
  const char* fn_;
  bool have_dev_ = false;
  lmt_device dev_ = LMT_CPU;

  void see_device(const Storage* st, size_t i, const char* name) {
    if (!have_dev_) {
      have_dev_ = true;
      dev_ = st->device;
    } else if (st->device != dev_) {
      fail("DeviceError", "LMT_ERR_DEVICE",
           where(i, name) + " is on " + device_name(st->device) + " but earlier arguments are on " +
               device_name(dev_));
    }
  }
};

// Calls the CPU or the CUDA kernel of the same signature, after every argument (and so every
// tensor's device) has been read.
template <class F, class... A>
lmt_status kcall(const Args& a, F cpu, F gpu, A... args) {
  return a.cuda() ? gpu(args...) : cpu(args...);
}
#ifdef LMT_WITH_CUDA
#define KCALL(a, name, ...) kcall(a, lmt_##name, lmt_cuda_##name, __VA_ARGS__)
#else
#define KCALL(a, name, ...) kcall(a, lmt_##name, lmt_##name, __VA_ARGS__)
#endif

// Products of dims, refusing overflow past kMaxElems.
int64_t mul(const char* fn, std::initializer_list<int64_t> xs) {
  int64_t p = 1;
  for (int64_t x : xs) {
    if (x == 0) return 0;
  }
  for (int64_t x : xs) {
    if (p > kMaxElems / x)
      fail("ShapeError", "LMT_ERR_SHAPE", std::string(fn) + ": dimension product exceeds 2^40 elements");
    p *= x;
  }
  return p;
}
int64_t prod(const char* fn, const std::vector<int64_t>& xs) {
  int64_t p = 1;
  for (int64_t x : xs) if (x == 0) return 0;
  for (int64_t x : xs) {
    if (p > kMaxElems / x)
      fail("ShapeError", "LMT_ERR_SHAPE", std::string(fn) + ": shape product exceeds 2^40 elements");
    p *= x;
  }
  return p;
}
// Elements a strided read over `shape` touches: 1 + sum((shape_d - 1) * stride_d), 0 if empty.
int64_t reach(const char* fn, const std::vector<int64_t>& shape, const std::vector<int64_t>& strides) {
  if (shape.size() != strides.size())
    fail("ShapeError", "LMT_ERR_SHAPE", std::string(fn) + ": shape and strides differ in length");
  for (int64_t s : shape) if (s == 0) return 0;
  int64_t r = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    r += mul(fn, {shape[d] - 1, strides[d]});
    if (r > kMaxElems) fail("ShapeError", "LMT_ERR_SHAPE", std::string(fn) + ": strides reach past 2^40 elements");
  }
  return r;
}

// Runs a wrapper body, turning JsError into the registered JS class.
template <class F>
Napi::Value guarded(const Napi::CallbackInfo& info, F&& body) {
  Napi::Env env = info.Env();
  try {
    return body();
  } catch (const JsError& e) {
    make_error(env, e).ThrowAsJavaScriptException();
  } catch (const Napi::Error& e) {
    throw;
  } catch (const std::bad_alloc&) {
    make_error(env, JsError{"OutOfMemoryError", "LMT_ERR_OOM", "out of host memory"}).ThrowAsJavaScriptException();
  } catch (const std::exception& e) {
    make_error(env, JsError{"NativeError", "LMT_ERR_INTERNAL", e.what()}).ThrowAsJavaScriptException();
  }
  return env.Undefined();
}

#define WRAP(name) Napi::Value name(const Napi::CallbackInfo& info) { return guarded(info, [&]() -> Napi::Value {
#define END_WRAP }); }

// ---- setup, storage, copies -------------------------------------------------------------------
WRAP(SetErrorClasses)
  if (info.Length() != 1 || !info[0].IsObject())
    fail("ArgumentError", "LMT_ERR_INVALID_ARG", "setErrorClasses: expected one object");
  auto* data = info.Env().GetInstanceData<AddonData>();
  data->error_classes = Napi::Persistent(info[0].As<Napi::Object>());
  return info.Env().Undefined();
END_WRAP

lmt_dtype parse_dtype(Args& a, size_t i) {
  Napi::Value v = a.info()[i];
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "float32") return LMT_F32;
  if (s == "int32") return LMT_I32;
  fail("DTypeError", "LMT_ERR_DTYPE", a.where(i, "dtype") + " must be 'float32' or 'int32'");
}

lmt_device parse_device(Args& a, size_t i) {
  Napi::Value v = a.info()[i];
  std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "cpu") return LMT_CPU;
  if (s == "cuda") {
#ifdef LMT_WITH_CUDA
    const char* why = "";
    if (lmt_cuda_device_count(&why) <= 0) fail("DeviceError", "LMT_ERR_DEVICE", std::string("CUDA is not usable: ") + why);
    return LMT_CUDA;
#else
    fail("DeviceError", "LMT_ERR_DEVICE", "CUDA is not usable: this binary was built without CUDA");
#endif
  }
  fail("DeviceError", "LMT_ERR_DEVICE", a.where(i, "device") + " must be 'cpu' or 'cuda'");
}

WRAP(Empty)
  // The device argument is optional (default: cpu).
  Args a(info, "empty", info.Length() == 2 ? 2 : 3);
  lmt_dtype dt = parse_dtype(a, 0);
  int64_t n = a.dim(1, "numel");
  return wrap(info.Env(), new_storage(dt, n, info.Length() == 2 ? LMT_CPU : parse_device(a, 2)));
END_WRAP

WRAP(FromArray)
  Args a(info, "fromArray", info.Length() == 1 ? 1 : 2);
  Napi::Value v = info[0];
  if (!v.IsTypedArray()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", "fromArray: expected a Float32Array or Int32Array");
  Napi::TypedArray ta = v.As<Napi::TypedArray>();
  lmt_dtype dt;
  if (ta.TypedArrayType() == napi_float32_array) dt = LMT_F32;
  else if (ta.TypedArrayType() == napi_int32_array) dt = LMT_I32;
  else fail("DTypeError", "LMT_ERR_DTYPE", "fromArray: expected a Float32Array or Int32Array");
  int64_t n = (int64_t)ta.ElementLength();
  auto st = new_storage(dt, n, info.Length() == 1 ? LMT_CPU : parse_device(a, 1));
  copy_bytes(st.get(), (const uint8_t*)ta.ArrayBuffer().Data() + ta.ByteOffset(), (size_t)n * 4);
  return wrap(info.Env(), st);
END_WRAP

WRAP(ToArray)
  Args a(info, "toArray", 1);
  Storage* st = a.handle(0, "x")->storage.get();
  Napi::Env env = info.Env();
  if (st->dtype == LMT_F32) {
    auto out = Napi::Float32Array::New(env, (size_t)st->numel);
    read_bytes(out.Data(), st, (size_t)st->numel * 4);
    return out;
  }
  auto out = Napi::Int32Array::New(env, (size_t)st->numel);
  read_bytes(out.Data(), st, (size_t)st->numel * 4);
  return out;
END_WRAP

// A copy of the storage on another device (or the same one).
WRAP(ToDevice)
  Args a(info, "toDevice", 2);
  Storage* src = a.handle(0, "x")->storage.get();
  lmt_device dev = parse_device(a, 1);
  auto st = new_storage(src->dtype, src->numel, dev);
  size_t bytes = (size_t)src->numel * 4;
  if (bytes) {
#ifdef LMT_WITH_CUDA
    if (src->device == LMT_CUDA && dev == LMT_CUDA) check(lmt_cuda_memcpy_d2d(st->data, src->data, bytes));
    else if (src->device == LMT_CUDA) check(lmt_cuda_memcpy_d2h(st->data, src->data, bytes));
    else if (dev == LMT_CUDA) check(lmt_cuda_memcpy_h2d(st->data, src->data, bytes));
    else
#endif
      std::memcpy(st->data, src->data, bytes);
  }
  return wrap(info.Env(), st);
END_WRAP

WRAP(DeviceOf)
  Args a(info, "deviceOf", 1);
  return Napi::String::New(info.Env(), device_name(a.handle(0, "x")->storage->device));
END_WRAP

WRAP(CudaSynchronize)
#ifdef LMT_WITH_CUDA
  const char* why = "";
  if (lmt_cuda_device_count(&why) > 0) check(lmt_cuda_synchronize());
#endif
  return info.Env().Undefined();
END_WRAP

// 'fp32' (default), or 'bf16' / 'tf32' tensor-core products for CUDA matmuls.
WRAP(SetMatmulPrecision)
  Args a(info, "setMatmulPrecision", 1);
  std::string p = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (p != "fp32" && p != "bf16" && p != "tf32")
    fail("ArgumentError", "LMT_ERR_INVALID_ARG", "setMatmulPrecision: expected 'fp32', 'bf16' or 'tf32'");
#ifdef LMT_WITH_CUDA
  check(lmt_cuda_set_matmul_precision(p == "bf16" ? LMT_PREC_BF16 : p == "tf32" ? LMT_PREC_TF32 : LMT_PREC_FP32));
#endif
  return info.Env().Undefined();
END_WRAP

// The current CUDA matmul precision ('fp32' where CUDA is not compiled in).
WRAP(GetMatmulPrecision)
  const char* p = "fp32";
#ifdef LMT_WITH_CUDA
  int v = lmt_cuda_get_matmul_precision();
  p = v == LMT_PREC_BF16 ? "bf16" : v == LMT_PREC_TF32 ? "tf32" : "fp32";
#endif
  return Napi::String::New(info.Env(), p);
END_WRAP

// A new handle on the same storage (reshape): each handle is disposed on its own, the
// storage is freed with the last one.
WRAP(View)
  Args a(info, "view", 1);
  return wrap(info.Env(), a.handle(0, "x")->storage);
END_WRAP

WRAP(Memory)
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("handles", Napi::Number::New(info.Env(), (double)g_live_handles.load()));
  o.Set("storages", Napi::Number::New(info.Env(), (double)g_live_storages.load()));
  o.Set("bytes", Napi::Number::New(info.Env(), (double)g_live_bytes.load()));
  o.Set("cachedBytes", Napi::Number::New(info.Env(), (double)lmt_host_cached_bytes()));
  o.Set("cudaBytes", Napi::Number::New(info.Env(), (double)g_live_cuda_bytes.load()));
#ifdef LMT_WITH_CUDA
  o.Set("cudaCachedBytes", Napi::Number::New(info.Env(), (double)lmt_cuda_cached_bytes()));
#else
  o.Set("cudaCachedBytes", Napi::Number::New(info.Env(), 0.0));
#endif
  return o;
END_WRAP

WRAP(FlushCache)
  lmt_host_flush_cache();
#ifdef LMT_WITH_CUDA
  lmt_cuda_flush_cache();
#endif
  return info.Env().Undefined();
END_WRAP

WRAP(Info)
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("version", lmt_version());
  o.Set("cpuFeatures", lmt_cpu_features());
  o.Set("threads", lmt_get_num_threads());
  o.Set("cudaCompiled", Napi::Boolean::New(env, lmt_cuda_compiled() != 0));
  const char* why = "";
  int n = lmt_cuda_device_count(&why);
  o.Set("cudaDevices", n);
  o.Set("cudaWhy", why ? why : "");
  const char* archs = "";
  o.Set("cudaRuntimeVersion", lmt_cuda_runtime_version(&archs));
  o.Set("cudaArchs", archs ? archs : "");
  Napi::Array devices = Napi::Array::New(env);
  for (int i = 0; i < n; i++) {
    lmt_cuda_device_facts f;
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", i);
    if (lmt_cuda_device_info(i, &f) == LMT_OK) {
      d.Set("name", f.name);
      d.Set("computeCapability", std::to_string(f.major) + "." + std::to_string(f.minor));
      d.Set("multiprocessors", f.multiprocessors);
      d.Set("totalBytes", (double)f.total_bytes);
      d.Set("freeBytes", (double)f.free_bytes);
    } else {
      d.Set("error", lmt_last_error());
    }
    devices.Set((uint32_t)i, d);
  }
  o.Set("cudaDeviceList", devices);
  return o;
END_WRAP

// The kernel benchmark suite; returns its records (JSON strings). The spec is checked word by
// word so that no stray string can start a minute-long run.
WRAP(BenchKernels)
  if (info.Length() != 1 || !info[0].IsString()) fail("ArgumentError", "LMT_ERR_ARGUMENT", "benchKernels: expected one argument, the spec string");
  std::string spec = info[0].As<Napi::String>();
  if (spec.empty() || spec.size() > 256) fail("ArgumentError", "LMT_ERR_ARGUMENT", "benchKernels: the spec must be 1-256 characters");
  size_t at = 0;
  while (at <= spec.size()) {
    size_t e = spec.find(',', at);
    if (e == std::string::npos) e = spec.size();
    std::string w = spec.substr(at, e - at);
    static const char* words[] = {"all", "peak", "copy", "gemm", "attention", "memory", "quick", "progress"};
    bool ok = false;
    for (const char* k : words) ok = ok || w == k;
    if (!ok && w.rfind("threads=", 0) == 0 && w.size() > 8 && w.size() <= 12) {
      ok = w.find_first_not_of("0123456789", 8) == std::string::npos && std::stoi(w.substr(8)) >= 1 && std::stoi(w.substr(8)) <= 1024;
    }
    if (!ok) fail("ArgumentError", "LMT_ERR_ARGUMENT", "benchKernels: unknown spec word '" + w + "' (all, peak, copy, gemm, attention, memory, quick, progress, threads=N)");
    at = e + 1;
  }
  std::vector<std::string> out;
  check(lmt_bench_kernels(spec.c_str(), [](const char* j, void* u) { static_cast<std::vector<std::string>*>(u)->push_back(j); }, &out));
  Napi::Array arr = Napi::Array::New(info.Env(), out.size());
  for (size_t i = 0; i < out.size(); ++i) arr.Set((uint32_t)i, Napi::String::New(info.Env(), out[i]));
  return arr;
END_WRAP

WRAP(SetNumThreads)
  Args a(info, "setNumThreads", 1);
  int64_t n = a.dim(0, "threads");
  check(lmt_set_num_threads(n > 1024 ? 0 : (int)n));
  return info.Env().Undefined();
END_WRAP

// ---- fill, copy, RNG ------------------------------------------------------------------------
WRAP(Fill)
  Args a(info, "fill", 2);
  int64_t n = a.numel(0, "out", LMT_F32);
  float v = a.f(1, "value", true);
  check(KCALL(a, fill, a.f32(0, "out", n), v, n));
  return info.Env().Undefined();
END_WRAP

WRAP(FillI32)
  Args a(info, "fillI32", 2);
  int64_t n = a.numel(0, "out", LMT_I32);
  int32_t v = a.i32scalar(1, "value");
  check(KCALL(a, fill_i32, a.i32(0, "out", n), v, n));
  return info.Env().Undefined();
END_WRAP

WRAP(CastI32F32)
  Args a(info, "castI32F32", 2);
  int64_t n = a.numel(1, "x", LMT_I32);
  check(KCALL(a, cast_i32_f32, a.f32(0, "out", n), a.i32(1, "x", n), n));
  return info.Env().Undefined();
END_WRAP

// copyStrided(out, x, shape, strides, offset, outOffset)
WRAP(CopyStrided)
  Args a(info, "copyStrided", 6);
  auto shape = a.dims(2, "shape");
  auto strides = a.dims(3, "strides");
  int64_t offset = a.dim(4, "offset");
  int64_t out_offset = a.dim(5, "outOffset");
  int64_t n = prod("copyStrided", shape);
  int64_t r = reach("copyStrided", shape, strides);
  float* out = a.f32(0, "out", out_offset + n);
  Storage* x = a.tensor(1, "x", LMT_F32, n == 0 ? 0 : offset + r);
  check(KCALL(a, copy_strided, out + out_offset, (const float*)x->data, x->numel, (int)shape.size(),
                         shape.data(), strides.data(), offset));
  return info.Env().Undefined();
END_WRAP

// scatterAddStrided(out, x, shape, strides, offset)
WRAP(ScatterAddStrided)
  Args a(info, "scatterAddStrided", 5);
  auto shape = a.dims(2, "shape");
  auto strides = a.dims(3, "strides");
  int64_t offset = a.dim(4, "offset");
  int64_t n = prod("scatterAddStrided", shape);
  int64_t r = reach("scatterAddStrided", shape, strides);
  Storage* out = a.tensor(0, "out", LMT_F32, n == 0 ? 0 : offset + r);
  const float* x = a.f32(1, "x", n);
  check(KCALL(a, scatter_add_strided, (float*)out->data, out->numel, x, (int)shape.size(), shape.data(),
                                strides.data(), offset));
  return info.Env().Undefined();
END_WRAP

WRAP(FillUniform)
  Args a(info, "fillUniform", 5);
  int64_t n = a.numel(0, "out", LMT_F32);
  check(KCALL(a, fill_uniform, a.f32(0, "out", n), n, a.f(1, "lo"), a.f(2, "hi"), a.u53(3, "seed"), a.u53(4, "offset")));
  return info.Env().Undefined();
END_WRAP

WRAP(FillNormal)
  Args a(info, "fillNormal", 5);
  int64_t n = a.numel(0, "out", LMT_F32);
  check(KCALL(a, fill_normal, a.f32(0, "out", n), n, a.f(1, "mean"), a.f(2, "std"), a.u53(3, "seed"), a.u53(4, "offset")));
  return info.Env().Undefined();
END_WRAP

// ---- elementwise ---------------------------------------------------------------------------
WRAP(Unary)
  Args a(info, "unary", 5);
  int64_t n = a.numel(1, "x", LMT_F32);
  float* out = a.f32(0, "out", n);
  check(KCALL(a, unary, out, a.f32(1, "x", n), n, (int)a.dim(2, "op"), a.f(3, "alpha"), a.f(4, "beta")));
  return info.Env().Undefined();
END_WRAP

WRAP(UnaryBackward)
  Args a(info, "unaryBackward", 5);
  int64_t n = a.numel(1, "dout", LMT_F32);
  check(KCALL(a, unary_backward, a.f32(0, "dx", n), a.f32(1, "dout", n), a.f32(2, "x", n, true),
                           a.f32(3, "y", n, true), n, (int)a.dim(4, "op")));
  return info.Env().Undefined();
END_WRAP

// binary(out, a, b, shape, aStrides, bStrides, op)
WRAP(Binary)
  Args a(info, "binary", 7);
  auto shape = a.dims(3, "shape");
  auto sa = a.dims(4, "aStrides");
  auto sb = a.dims(5, "bStrides");
  int64_t n = prod("binary", shape);
  float* out = a.f32(0, "out", n);
  const float* x = a.f32(1, "a", reach("binary", shape, sa));
  const float* y = a.f32(2, "b", reach("binary", shape, sb));
  check(KCALL(a, binary, out, x, y, (int)shape.size(), shape.data(), sa.data(), sb.data(), (int)a.dim(6, "op")));
  return info.Env().Undefined();
END_WRAP

// where(out, cond, a, b, shape, condStrides, aStrides, bStrides)
WRAP(Where)
  Args a(info, "where", 8);
  auto shape = a.dims(4, "shape");
  auto sc = a.dims(5, "condStrides");
  auto sa = a.dims(6, "aStrides");
  auto sb = a.dims(7, "bStrides");
  int64_t n = prod("where", shape);
  float* out = a.f32(0, "out", n);
  const float* c = a.f32(1, "cond", reach("where", shape, sc));
  const float* x = a.f32(2, "a", reach("where", shape, sa));
  const float* y = a.f32(3, "b", reach("where", shape, sb));
  check(KCALL(a, where, out, c, x, y, (int)shape.size(), shape.data(), sc.data(), sa.data(), sb.data()));
  return info.Env().Undefined();
END_WRAP

// ---- reductions ----------------------------------------------------------------------------
// reduce(out, argmax|null, x, outer, dim, inner, op)
WRAP(Reduce)
  Args a(info, "reduce", 7);
  int64_t outer = a.dim(3, "outer"), dim = a.dim(4, "dim"), inner = a.dim(5, "inner");
  int64_t on = mul("reduce", {outer, inner});
  check(KCALL(a, reduce, a.f32(0, "out", on), a.i32(1, "argmax", on, true),
                   a.f32(2, "x", mul("reduce", {outer, dim, inner})), outer, dim, inner, (int)a.dim(6, "op")));
  return info.Env().Undefined();
END_WRAP

WRAP(ReduceBackward)
  Args a(info, "reduceBackward", 7);
  int64_t outer = a.dim(3, "outer"), dim = a.dim(4, "dim"), inner = a.dim(5, "inner");
  int64_t on = mul("reduceBackward", {outer, inner});
  check(KCALL(a, reduce_backward, a.f32(0, "dx", mul("reduceBackward", {outer, dim, inner})), a.f32(1, "dout", on),
                            a.i32(2, "argmax", on, true), outer, dim, inner, (int)a.dim(6, "op")));
  return info.Env().Undefined();
END_WRAP

// ---- softmax --------------------------------------------------------------------------------
// softmaxForward(out, x, mask|null, rows, cols, maskRows, maskDiv, log)
WRAP(SoftmaxForward)
  Args a(info, "softmaxForward", 8);
  int64_t rows = a.dim(3, "rows"), cols = a.dim(4, "cols");
  int64_t mrows = a.dim(5, "maskRows"), mdiv = a.dim(6, "maskDiv");
  int64_t n = mul("softmaxForward", {rows, cols});
  check(KCALL(a, softmax_forward, a.f32(0, "out", n), a.f32(1, "x", n),
                            a.f32(2, "mask", mul("softmaxForward", {mrows, cols}), true), rows, cols,
                            mrows, mdiv, a.flag(7, "log") ? 1 : 0));
  return info.Env().Undefined();
END_WRAP

WRAP(SoftmaxBackward)
  Args a(info, "softmaxBackward", 6);
  int64_t rows = a.dim(3, "rows"), cols = a.dim(4, "cols");
  int64_t n = mul("softmaxBackward", {rows, cols});
  check(KCALL(a, softmax_backward, a.f32(0, "dx", n), a.f32(1, "dout", n), a.f32(2, "y", n), rows, cols,
                             a.flag(5, "log") ? 1 : 0));
  return info.Env().Undefined();
END_WRAP

// ---- normalisation ------------------------------------------------------------------------
// layernormForward(out, mean, rstd, x, weight, bias|null, N, C, eps)
WRAP(LayernormForward)
  Args a(info, "layernormForward", 9);
  int64_t N = a.dim(6, "N"), C = a.dim(7, "C");
  int64_t n = mul("layernormForward", {N, C});
  check(KCALL(a, layernorm_forward, a.f32(0, "out", n), a.f32(1, "mean", N), a.f32(2, "rstd", N), a.f32(3, "x", n),
                              a.f32(4, "weight", C), a.f32(5, "bias", C, true), N, C, a.f(8, "eps")));
  return info.Env().Undefined();
END_WRAP

// layernormBackward(dx, dweight, dbias|null, dout, x, weight, mean, rstd, N, C)
WRAP(LayernormBackward)
  Args a(info, "layernormBackward", 10);
  int64_t N = a.dim(8, "N"), C = a.dim(9, "C");
  int64_t n = mul("layernormBackward", {N, C});
  check(KCALL(a, layernorm_backward, a.f32(0, "dx", n), a.f32(1, "dweight", C), a.f32(2, "dbias", C, true),
                               a.f32(3, "dout", n), a.f32(4, "x", n), a.f32(5, "weight", C), a.f32(6, "mean", N),
                               a.f32(7, "rstd", N), N, C));
  return info.Env().Undefined();
END_WRAP

// rmsnormForward(out, rstd, x, weight, N, C, eps)
WRAP(RmsnormForward)
  Args a(info, "rmsnormForward", 7);
  int64_t N = a.dim(4, "N"), C = a.dim(5, "C");
  int64_t n = mul("rmsnormForward", {N, C});
  check(KCALL(a, rmsnorm_forward, a.f32(0, "out", n), a.f32(1, "rstd", N), a.f32(2, "x", n), a.f32(3, "weight", C), N,
                            C, a.f(6, "eps")));
  return info.Env().Undefined();
END_WRAP

// rmsnormBackward(dx, dweight, dout, x, weight, rstd, N, C)
WRAP(RmsnormBackward)
  Args a(info, "rmsnormBackward", 8);
  int64_t N = a.dim(6, "N"), C = a.dim(7, "C");
  int64_t n = mul("rmsnormBackward", {N, C});
  check(KCALL(a, rmsnorm_backward, a.f32(0, "dx", n), a.f32(1, "dweight", C), a.f32(2, "dout", n), a.f32(3, "x", n),
                             a.f32(4, "weight", C), a.f32(5, "rstd", N), N, C));
  return info.Env().Undefined();
END_WRAP

// ---- GELU ---------------------------------------------------------------------------------
WRAP(GeluForward)
  Args a(info, "geluForward", 2);
  int64_t n = a.numel(1, "x", LMT_F32);
  check(KCALL(a, gelu_forward, a.f32(0, "out", n), a.f32(1, "x", n), n));
  return info.Env().Undefined();
END_WRAP

WRAP(GeluBackward)
  Args a(info, "geluBackward", 3);
  int64_t n = a.numel(2, "x", LMT_F32);
  check(KCALL(a, gelu_backward, a.f32(0, "dx", n), a.f32(1, "dout", n), a.f32(2, "x", n), n));
  return info.Env().Undefined();
END_WRAP

// ---- embedding and gather -------------------------------------------------------------------
// embeddingForward(out, ids, weight, N, V, C)
WRAP(EmbeddingForward)
  Args a(info, "embeddingForward", 6);
  int64_t N = a.dim(3, "N"), V = a.dim(4, "V"), C = a.dim(5, "C");
  check(KCALL(a, embedding_forward, a.f32(0, "out", mul("embeddingForward", {N, C})), a.i32(1, "ids", N),
                              a.f32(2, "weight", mul("embeddingForward", {V, C})), N, V, C));
  return info.Env().Undefined();
END_WRAP

// embeddingBackward(dweight, dout, ids, N, V, C)
WRAP(EmbeddingBackward)
  Args a(info, "embeddingBackward", 6);
  int64_t N = a.dim(3, "N"), V = a.dim(4, "V"), C = a.dim(5, "C");
  check(KCALL(a, embedding_backward, a.f32(0, "dweight", mul("embeddingBackward", {V, C})),
                               a.f32(1, "dout", mul("embeddingBackward", {N, C})), a.i32(2, "ids", N), N, V, C));
  return info.Env().Undefined();
END_WRAP

// gather(out, x, idx, outer, dim, inner, nIdx)
WRAP(Gather)
  Args a(info, "gather", 7);
  int64_t outer = a.dim(3, "outer"), dim = a.dim(4, "dim"), inner = a.dim(5, "inner"), k = a.dim(6, "nIdx");
  check(KCALL(a, gather, a.f32(0, "out", mul("gather", {outer, k, inner})), a.f32(1, "x", mul("gather", {outer, dim, inner})),
                   a.i32(2, "idx", k), outer, dim, inner, k));
  return info.Env().Undefined();
END_WRAP

WRAP(GatherBackward)
  Args a(info, "gatherBackward", 7);
  int64_t outer = a.dim(3, "outer"), dim = a.dim(4, "dim"), inner = a.dim(5, "inner"), k = a.dim(6, "nIdx");
  check(KCALL(a, gather_backward, a.f32(0, "dx", mul("gatherBackward", {outer, dim, inner})),
                            a.f32(1, "dout", mul("gatherBackward", {outer, k, inner})), a.i32(2, "idx", k), outer,
                            dim, inner, k));
  return info.Env().Undefined();
END_WRAP

// ---- cross-entropy ------------------------------------------------------------------------
// crossEntropyForward(losses, lse, logits, targets, N, V, ignoreIndex, smoothing)
WRAP(CrossEntropyForward)
  Args a(info, "crossEntropyForward", 8);
  int64_t N = a.dim(4, "N"), V = a.dim(5, "V");
  check(KCALL(a, cross_entropy_forward, a.f32(0, "losses", N), a.f32(1, "lse", N),
                                  a.f32(2, "logits", mul("crossEntropyForward", {N, V})), a.i32(3, "targets", N), N, V,
                                  a.i32scalar(6, "ignoreIndex"), a.f(7, "labelSmoothing")));
  return info.Env().Undefined();
END_WRAP

// crossEntropyBackward(dlogits, dlosses, logits, lse, targets, N, V, ignoreIndex, smoothing)
WRAP(CrossEntropyBackward)
  Args a(info, "crossEntropyBackward", 9);
  int64_t N = a.dim(5, "N"), V = a.dim(6, "V");
  int64_t n = mul("crossEntropyBackward", {N, V});
  check(KCALL(a, cross_entropy_backward, a.f32(0, "dlogits", n), a.f32(1, "dlosses", N), a.f32(2, "logits", n),
                                   a.f32(3, "lse", N), a.i32(4, "targets", N), N, V, a.i32scalar(7, "ignoreIndex"),
                                   a.f(8, "labelSmoothing")));
  return info.Env().Undefined();
END_WRAP

// ---- attention ----------------------------------------------------------------------------
struct AttnDims {
  int64_t B, NH, Tq, Tk, HS, biasB;
  bool causal;
  float scale;
  int64_t q_n, kv_n, lse_n, bias_n;
};
AttnDims attn_dims(Args& a, size_t first) {
  AttnDims d;
  d.B = a.dim(first, "B");
  d.NH = a.dim(first + 1, "NH");
  d.Tq = a.dim(first + 2, "Tq");
  d.Tk = a.dim(first + 3, "Tk");
  d.HS = a.dim(first + 4, "HS");
  d.biasB = a.dim(first + 5, "biasB");
  d.causal = a.flag(first + 6, "causal");
  d.scale = a.f(first + 7, "scale");
  d.q_n = mul("attention", {d.B, d.NH, d.Tq, d.HS});
  d.kv_n = mul("attention", {d.B, d.NH, d.Tk, d.HS});
  d.lse_n = mul("attention", {d.B, d.NH, d.Tq});
  d.bias_n = mul("attention", {d.biasB, d.NH, d.Tq, d.Tk});
  return d;
}

// attentionForward(out, lse, q, k, v, bias|null, keyMask|null, B, NH, Tq, Tk, HS, biasB, causal, scale)
WRAP(AttentionForward)
  Args a(info, "attentionForward", 15);
  AttnDims d = attn_dims(a, 7);
  check(KCALL(a, attention_forward, a.f32(0, "out", d.q_n), a.f32(1, "lse", d.lse_n), a.f32(2, "q", d.q_n),
                              a.f32(3, "k", d.kv_n), a.f32(4, "v", d.kv_n), a.f32(5, "bias", d.bias_n, true),
                              a.f32(6, "keyMask", mul("attention", {d.B, d.Tk}), true), d.B, d.NH, d.Tq, d.Tk, d.HS,
                              d.biasB, d.causal ? 1 : 0, d.scale));
  return info.Env().Undefined();
END_WRAP

// attentionBackward(dq, dk, dv, dbias|null, dout, q, k, v, out, lse, bias|null, keyMask|null,
//                   B, NH, Tq, Tk, HS, biasB, causal, scale)
WRAP(AttentionBackward)
  Args a(info, "attentionBackward", 20);
  AttnDims d = attn_dims(a, 12);
  check(KCALL(a, attention_backward, a.f32(0, "dq", d.q_n), a.f32(1, "dk", d.kv_n), a.f32(2, "dv", d.kv_n),
                               a.f32(3, "dbias", d.bias_n, true), a.f32(4, "dout", d.q_n), a.f32(5, "q", d.q_n),
                               a.f32(6, "k", d.kv_n), a.f32(7, "v", d.kv_n), a.f32(8, "out", d.q_n),
                               a.f32(9, "lse", d.lse_n), a.f32(10, "bias", d.bias_n, true),
                               a.f32(11, "keyMask", mul("attention", {d.B, d.Tk}), true), d.B, d.NH, d.Tq, d.Tk,
                               d.HS, d.biasB, d.causal ? 1 : 0, d.scale));
  return info.Env().Undefined();
END_WRAP

// ---- matmul -------------------------------------------------------------------------------
// Elements a strided batch of row-major (rows, cols) matrices with leading dim ld spans.
int64_t matrix_reach(const char* name, int64_t batch, int64_t rows, int64_t cols, int64_t ld, int64_t stride) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  if (ld < cols)
    fail("ShapeError", "LMT_ERR_SHAPE",
         std::string("matmul: leading dimension of ") + name + " (" + std::to_string(ld) + ") is less than its row length " + std::to_string(cols));
  return mul("matmul", {batch - 1, stride}) + mul("matmul", {rows - 1, ld}) + cols;
}

// matmul(c, a, b, batch, M, N, K, transA, transB, lda, ldb, ldc, sa, sb, sc, alpha, beta)
WRAP(Matmul)
  Args a(info, "matmul", 17);
  int64_t batch = a.dim(3, "batch"), M = a.dim(4, "M"), N = a.dim(5, "N"), K = a.dim(6, "K");
  bool ta = a.flag(7, "transA"), tb = a.flag(8, "transB");
  int64_t lda = a.dim(9, "lda"), ldb = a.dim(10, "ldb"), ldc = a.dim(11, "ldc");
  int64_t sa = a.dim(12, "sa"), sb = a.dim(13, "sb"), sc = a.dim(14, "sc");
  float alpha = a.f(15, "alpha"), beta = a.f(16, "beta");
  int64_t need_a = K == 0 || M == 0 ? 0 : (ta ? matrix_reach("a", batch, K, M, lda, sa) : matrix_reach("a", batch, M, K, lda, sa));
  int64_t need_b = K == 0 || N == 0 ? 0 : (tb ? matrix_reach("b", batch, N, K, ldb, sb) : matrix_reach("b", batch, K, N, ldb, sb));
  int64_t need_c = matrix_reach("c", batch, M, N, ldc, sc);
  check(KCALL(a, matmul, a.f32(0, "c", need_c), a.f32(1, "a", need_a), a.f32(2, "b", need_b), batch, M, N, K, ta ? 1 : 0,
                   tb ? 1 : 0, lda, ldb, ldc, sa, sb, sc, alpha, beta));
  return info.Env().Undefined();
END_WRAP

// ---- dropout ------------------------------------------------------------------------------
WRAP(DropoutForward)
  Args a(info, "dropoutForward", 5);
  int64_t n = a.numel(1, "x", LMT_F32);
  check(KCALL(a, dropout_forward, a.f32(0, "out", n), a.f32(1, "x", n), n, a.f(2, "p"), a.u53(3, "seed"), a.u53(4, "offset")));
  return info.Env().Undefined();
END_WRAP

WRAP(DropoutBackward)
  Args a(info, "dropoutBackward", 5);
  int64_t n = a.numel(1, "dout", LMT_F32);
  check(KCALL(a, dropout_backward, a.f32(0, "dx", n), a.f32(1, "dout", n), n, a.f(2, "p"), a.u53(3, "seed"), a.u53(4, "offset")));
  return info.Env().Undefined();
END_WRAP

// ---- optimizer ----------------------------------------------------------------------------
// adamwStep(params[], m[], v[], grads[], decay[], lr, beta1, beta2, eps, weightDecay, step, gradScale)
WRAP(AdamwStep)
  Args a(info, "adamwStep", 12);
  auto p = a.tensor_list(0, "params");
  auto m = a.tensor_list(1, "m");
  auto v = a.tensor_list(2, "v");
  auto g = a.tensor_list(3, "grads");
  Napi::Value dv = info[4];
  if (!dv.IsArray()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", "adamwStep: argument 4 ('decay') must be an array of booleans");
  Napi::Array darr = dv.As<Napi::Array>();
  size_t count = p.size();
  if (m.size() != count || v.size() != count || g.size() != count || darr.Length() != count)
    fail("ShapeError", "LMT_ERR_SHAPE", "adamwStep: params, m, v, grads and decay must have the same length");
  std::vector<float*> pp(count), mp(count), vp(count);
  std::vector<const float*> gp(count);
  std::vector<int64_t> sizes(count);
  std::vector<uint8_t> decay(count);
  for (size_t i = 0; i < count; ++i) {
    int64_t n = p[i]->numel;
    if (m[i]->numel != n || v[i]->numel != n || g[i]->numel != n)
      fail("ShapeError", "LMT_ERR_SHAPE", "adamwStep: tensor " + std::to_string(i) + " has params, m, v and grads of different sizes");
    Napi::Value dvi = darr.Get((uint32_t)i);
    if (!dvi.IsBoolean()) fail("ArgumentError", "LMT_ERR_INVALID_ARG", "adamwStep: decay must hold booleans");
    pp[i] = (float*)p[i]->data;
    mp[i] = (float*)m[i]->data;
    vp[i] = (float*)v[i]->data;
    gp[i] = (const float*)g[i]->data;
    sizes[i] = n;
    decay[i] = dvi.As<Napi::Boolean>().Value() ? 1 : 0;
  }
  double step = a.number(10, "step");
  if (step < 1 || step != std::floor(step) || step > 9e15)
    fail("ArgumentError", "LMT_ERR_INVALID_ARG", "adamwStep: argument 10 ('step') must be an integer >= 1");
  check(KCALL(a, adamw_step, pp.data(), mp.data(), vp.data(), gp.data(), sizes.data(), decay.data(), (int)count,
                       a.f(5, "lr"), a.f(6, "beta1"), a.f(7, "beta2"), a.f(8, "eps"), a.f(9, "weightDecay"),
                       (int64_t)step, a.f(11, "gradScale")));
  return info.Env().Undefined();
END_WRAP

WRAP(GlobalNorm)
  Args a(info, "globalNorm", 1);
  auto t = a.tensor_list(0, "tensors");
  std::vector<const float*> ptr;
  std::vector<int64_t> sizes;
  for (Storage* s : t) {
    ptr.push_back((const float*)s->data);
    sizes.push_back(s->numel);
  }
  double norm = 0;
  check(KCALL(a, global_norm, &norm, ptr.data(), sizes.data(), (int)t.size()));
  return Napi::Number::New(info.Env(), norm);
END_WRAP

WRAP(ClipGradNorm)
  Args a(info, "clipGradNorm", 2);
  auto t = a.tensor_list(0, "tensors");
  float max_norm = a.f(1, "maxNorm");
  std::vector<float*> ptr;
  std::vector<int64_t> sizes;
  for (Storage* s : t) {
    ptr.push_back((float*)s->data);
    sizes.push_back(s->numel);
  }
  double norm = 0;
  check(KCALL(a, clip_grad_norm, &norm, ptr.data(), sizes.data(), (int)t.size(), max_norm));
  return Napi::Number::New(info.Env(), norm);
END_WRAP

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  env.SetInstanceData<AddonData>(data);
  Napi::Function ctor = TensorHandle::Define(env);
  data->tensor_ctor = Napi::Persistent(ctor);
  exports.Set("TensorHandle", ctor);
  struct Entry {
    const char* name;
    Napi::Value (*fn)(const Napi::CallbackInfo&);
  };
  const Entry entries[] = {
      {"setErrorClasses", SetErrorClasses}, {"empty", Empty}, {"fromArray", FromArray},
      {"toArray", ToArray}, {"view", View}, {"memory", Memory},
      {"flushCache", FlushCache}, {"info", Info}, {"setNumThreads", SetNumThreads},
      {"fill", Fill}, {"fillI32", FillI32}, {"castI32F32", CastI32F32},
      {"copyStrided", CopyStrided}, {"scatterAddStrided", ScatterAddStrided},
      {"fillUniform", FillUniform}, {"fillNormal", FillNormal}, {"unary", Unary},
      {"unaryBackward", UnaryBackward}, {"binary", Binary}, {"where", Where},
      {"reduce", Reduce}, {"reduceBackward", ReduceBackward},
      {"softmaxForward", SoftmaxForward}, {"softmaxBackward", SoftmaxBackward},
      {"layernormForward", LayernormForward}, {"layernormBackward", LayernormBackward},
      {"rmsnormForward", RmsnormForward}, {"rmsnormBackward", RmsnormBackward},
      {"geluForward", GeluForward}, {"geluBackward", GeluBackward},
      {"embeddingForward", EmbeddingForward}, {"embeddingBackward", EmbeddingBackward},
      {"gather", Gather}, {"gatherBackward", GatherBackward},
      {"crossEntropyForward", CrossEntropyForward}, {"crossEntropyBackward", CrossEntropyBackward},
      {"attentionForward", AttentionForward}, {"attentionBackward", AttentionBackward},
      {"matmul", Matmul}, {"dropoutForward", DropoutForward}, {"dropoutBackward", DropoutBackward},
      {"adamwStep", AdamwStep}, {"globalNorm", GlobalNorm}, {"clipGradNorm", ClipGradNorm},
      {"benchKernels", BenchKernels}, {"toDevice", ToDevice}, {"deviceOf", DeviceOf},
      {"cudaSynchronize", CudaSynchronize}, {"setMatmulPrecision", SetMatmulPrecision}, {"getMatmulPrecision", GetMatmulPrecision},
  };
  for (const Entry& e : entries) exports.Set(e.name, Napi::Function::New(env, e.fn, e.name));
  return exports;
}

}  // namespace

NODE_API_MODULE(lmtrain, Init)
