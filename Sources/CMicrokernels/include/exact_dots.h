#ifndef SAEGEO_EXACT_DOTS_H
#define SAEGEO_EXACT_DOTS_H
#include <stddef.h>

/// out[r] = sum_i (double)x[i] * (double)rows[r][i] for r < count: the float64 dot product of the
/// exact ranking (Exact.dot in Swift) with its operations in its order, so the same bits: four
/// lane sums s_j over i = j mod 4 (i < n rounded down to 4), the rest added to s_0 one by one,
/// then (s_0 + s_1) + (s_2 + s_3). Every product of two floats is exact in double, so each sum
/// is rounded once per step on any CPU, fused or not. Rows are taken four at a time, which reads
/// x once for four rows and overlaps their chains; AVX-512 and AVX2 clones chosen at run time.
void saegeo_exact_dots(const float *x, const float *const *rows, size_t count, size_t n, double *out);

/// out[r] = the same dot of xs[r] and ys[r], r < count: pairs of any rows, four at a time. One
/// dot alone is a chain of dependent additions (n / 4 of them, each waiting for the last); four
/// pairs overlap four chains, which is what the re-scoring's short runs of keys per query need.
void saegeo_exact_pair_dots(const float *const *xs, const float *const *ys, size_t count, size_t n, double *out);

#endif
