#ifndef SAEGEO_MICROKERNELS_H
#define SAEGEO_MICROKERNELS_H
#include <stddef.h>
#include "exact_dots.h"
#include "candidate_offers.h"

/// Runs `iterations` rounds of independent fused multiply-adds on the widest vectors this CPU
/// has (AVX-512, AVX2+FMA or SSE2), on one core. Returns the flops done (2 per lane per fma)
/// and writes a value that depends on every lane, so nothing is optimised away.
double saegeo_fma_peak(long iterations, float *sink);

/// The vector width used by saegeo_fma_peak, for the report: "avx512", "avx2" or "sse2".
const char *saegeo_fma_isa(void);

/// Copies n floats (a streaming copy: the memory bandwidth probe).
void saegeo_copy_floats(float *restrict destination, const float *restrict source, size_t n);

/// The OpenBLAS core type this CPU's instruction sets support best ("SkylakeX" with AVX-512
/// F/BW/VL/DQ, "Haswell" with AVX2 and FMA), or NULL for older or other CPUs.
const char *saegeo_blas_core_for_cpu(void);

#endif
