#ifndef SAEGEO_BFLOAT16_H
#define SAEGEO_BFLOAT16_H
#include <stddef.h>
#include <stdint.h>

/// Rounds n floats to bfloat16, to nearest with ties to even (the rounding of VCVTNEPS2BF16 and of
/// oneDNN), with a finite value too large for bfloat16 clamped to the largest finite one so that
/// no rounded value is infinite. Writes the bits (when `bits` is not NULL) and the rounded values
/// as floats (when `rounded` is not NULL), and returns in norms[0] the sum of squares of the
/// rounded values and in norms[1] the sum of squares of the rounding errors x - rounded(x)
/// (exact in float; summed in double). Plain C: the same results on any CPU.
void saegeo_bf16_round(const float *x, size_t n, uint16_t *bits, float *rounded, double norms[2]);

/// The same for n values at x[0], x[stride], x[2 stride], ... (a column of a row-major matrix).
void saegeo_bf16_round_strided(const float *x, size_t n, size_t stride, uint16_t *bits, float *rounded, double norms[2]);

/// Whether this CPU multiplies bfloat16 in hardware: AVX512-BF16 or AMX-BF16 (cpuid), with the
/// operating system saving the AVX-512 state. 0 or 1.
int saegeo_bf16_cpu_native(void);

/// Loads oneDNN (libdnnl.so.2) at run time, once. Returns 1 when its bfloat16 matmul is usable;
/// otherwise 0 with the reason in `why` (at most `why_length` bytes, NUL-terminated).
int saegeo_dnnl_load(char *why, size_t why_length);

/// C[m, n] = A[m, k] . B, A and B bfloat16 bits, C float (accumulated in float by oneDNN's kernel),
/// all row-major with leading dimensions lda, ldb, ldc. B is [n, k] (rows, multiplied transposed)
/// when b_transposed is 1, else [k, n]. Uses oneDNN's threads (OpenMP). Returns 0, or oneDNN's
/// status (non-zero) with a description in `why`. `implementation` (when not NULL) receives the
/// kernel oneDNN chose, e.g. "brg:avx512_core_bf16".
int saegeo_bf16_gemm(int b_transposed, long m, long n, long k,
                     const uint16_t *a, long lda, const uint16_t *b, long ldb, float *c, long ldc,
                     char *implementation, size_t implementation_length, char *why, size_t why_length);

/// B packed once into the layout oneDNN's kernel reads. saegeo_bf16_gemm reads a plain B and
/// copies it into that layout on every call, which for a band of 256 rows against 4096 columns at
/// k 2304 costs about 7% of the product (measured 397 GFLOP/s against 427 with the copy spread
/// over 4096 rows); a tile met by 16 bands is packed once instead.
typedef struct saegeo_bf16_packed saegeo_bf16_packed;

/// Packs B ([n, k] bits, rows ldb apart, multiplied transposed) for products of about m rows.
/// Returns NULL with the reason in `why` (the caller multiplies the plain B instead).
saegeo_bf16_packed *saegeo_bf16_pack(long m, long n, long k, const uint16_t *b, long ldb, char *why, size_t why_length);

/// The bytes a packed B holds.
size_t saegeo_bf16_packed_bytes(const saegeo_bf16_packed *packed);

/// Frees a packed B (NULL is ignored).
void saegeo_bf16_release(saegeo_bf16_packed *packed);

/// C[m, n] = A[m, k] . Bᵀ with B packed: as saegeo_bf16_gemm, the same sums per entry.
int saegeo_bf16_gemm_packed(long m, const uint16_t *a, long lda, const saegeo_bf16_packed *packed, float *c, long ldc,
                            char *why, size_t why_length);

/// The first pass's level decisions for one row of approximate pre-activations (LevelDecisions in
/// Swift says what they mean): line[j] becomes `decided` where
///     hi = a + b + (beta + 2^-22 (|a| + |b| + beta) + 2^-120),
///     beta = term_rounded rounded[j] + term_error error[j] + term_floor,
/// with a = line[j] and b = bias[j] as doubles, is at most level[j] and a, b and hi are finite;
/// otherwise `undecided`. Each operation is rounded on its own, in this order (no contraction
/// into fused multiply-adds), so every CPU decides alike; vector clones for AVX-512 and AVX2.
void saegeo_bf16_decide_levels(float *line, size_t n, const double *rounded, const double *error, const float *bias,
                               const double *level, double term_rounded, double term_error, double term_floor,
                               float decided, float undecided);

/// The exact recompute's float32 dot product: two 16-lane accumulators of fused multiply-adds
/// over blocks of 32, their lane sums added in lane order, then the rest fused one by one. The
/// same bits on every CPU (a fused multiply-add is exactly rounded); FMA instructions where the
/// CPU has them.
float saegeo_exact_dot_f32(const float *x, const float *y, size_t n);

#endif
