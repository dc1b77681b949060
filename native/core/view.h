// Strided views for the kernels that walk up to three operands over one shape (binary, where,
// strided copy and scatter), on both backends: unit dimensions are dropped and neighbours fused
// wherever every operand allows it, so "same-shape contiguous" becomes one long run with unit
// strides, "scalar b" a run with b stride 0, and a bias row (N,C) + (C) runs of C. Plain data
// (the CUDA kernels take it by value); collapse_view is host code.
#pragma once
#include <cstdint>

namespace lmt {

struct StridedView {
  int nd;
  int64_t shape[8];
  int64_t st[3][8];  // per operand; unused dimensions and operands are 0
};

// ndim <= 8 and nops <= 3 (the callers' checks guarantee both).
inline StridedView collapse_view(int ndim, const int64_t* shape, const int64_t* const* strides,
                                 int nops) {
  StridedView v;
  v.nd = 0;
  for (int d = 0; d < 8; ++d) {
    v.shape[d] = 1;
    for (int k = 0; k < 3; ++k) v.st[k][d] = 0;
  }
  for (int d = 0; d < ndim; ++d) {
    if (shape[d] == 1) continue;
    bool merge = v.nd > 0;
    for (int k = 0; k < nops && merge; ++k) merge = v.st[k][v.nd - 1] == strides[k][d] * shape[d];
    if (merge) {
      v.shape[v.nd - 1] *= shape[d];
      for (int k = 0; k < nops; ++k) v.st[k][v.nd - 1] = strides[k][d];
    } else {
      v.shape[v.nd] = shape[d];
      for (int k = 0; k < nops; ++k) v.st[k][v.nd] = strides[k][d];
      ++v.nd;
    }
  }
  if (v.nd == 0) v.nd = 1;  // a single element: shape 1, strides 0
  return v;
}

}  // namespace lmt
