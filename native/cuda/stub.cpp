// Compiled when no CUDA compiler was found: the CUDA entry points exist and say why.
#include "lmt/lmt.h"

extern "C" int lmt_cuda_compiled(void) { return 0; }

extern "C" int lmt_cuda_device_count(const char** why) {
  if (why) *why = "this binary was built without CUDA (no CUDA compiler found at build time)";
  return 0;
}
