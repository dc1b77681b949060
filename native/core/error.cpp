// Thread-local last-error message behind lmt_last_error().
#include <cstdarg>
#include <cstdio>

#include "lmt/lmt.h"

namespace {
thread_local char g_last_error[1024] = "";
}

extern "C" const char* lmt_last_error(void) { return g_last_error; }

extern "C" const char* lmt_status_name(lmt_status s) {
  switch (s) {
    case LMT_OK: return "LMT_OK";
    case LMT_ERR_INVALID_ARG: return "LMT_ERR_INVALID_ARG";
    case LMT_ERR_SHAPE: return "LMT_ERR_SHAPE";
    case LMT_ERR_INDEX: return "LMT_ERR_INDEX";
    case LMT_ERR_OOM: return "LMT_ERR_OOM";
    case LMT_ERR_DEVICE: return "LMT_ERR_DEVICE";
    case LMT_ERR_INTERNAL: return "LMT_ERR_INTERNAL";
  }
  return "LMT_ERR_UNKNOWN";
}

extern "C" lmt_status lmt_fail(lmt_status s, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(g_last_error, sizeof g_last_error, fmt, ap);
  va_end(ap);
  return s;
}
