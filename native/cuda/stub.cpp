// Compiled when no CUDA compiler was found: the CUDA entry points exist and say why.
#include "lmt/lmt.h"

extern "C" int lmt_cuda_compiled(void) { return 0; }

extern "C" int lmt_cuda_device_count(const char** why) {
  if (why) *why = "this binary was built without CUDA (no CUDA compiler found at build time)";
  return 0;
}

extern "C" int lmt_cuda_runtime_version(const char** archs) {
  if (archs) *archs = "";
  return 0;
}

extern "C" lmt_status lmt_cuda_device_info(int device, lmt_cuda_device_facts* out) {
  return lmt_fail(LMT_ERR_DEVICE, "lmt_cuda_device_info(%d): this binary was built without CUDA", device);
}
