// The kernel benchmarks without Node: `build/lmt_bench [quick] [gemm|attention|memory|...]
// [threads=N] [json]` prints the same records as `lmtrain bench kernels` (lmt_bench_kernels
// in native/core/bench.cpp), as a table or, with `json`, one JSON array.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lmt/lmt.h"

int main(int argc, char** argv) {
  std::string spec;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "json") == 0 || std::strcmp(argv[i], "--json") == 0) { json = true; continue; }
    if (!spec.empty()) spec += ",";
    spec += argv[i];
  }
  if (spec.empty()) spec = "all";
  if (!json) spec += ",progress";
  std::vector<std::string> recs;
  lmt_status s = lmt_bench_kernels(spec.c_str(), [](const char* j, void* u) { static_cast<std::vector<std::string>*>(u)->push_back(j); }, &recs);
  if (s != LMT_OK) {
    std::fprintf(stderr, "lmt_bench: %s\n", lmt_last_error());
    return 1;
  }
  if (json) {
    std::printf("[");
    for (size_t i = 0; i < recs.size(); ++i) std::printf("%s%s", i ? "," : "", recs[i].c_str());
    std::printf("]\n");
  }
  return 0;
}
