// Microkernels for `saegeo bench` on the CPU: the fp32 peak of one core (chains of independent
// fmas, enough of them to cover the fma latency on two ports) and a streaming copy.
// Each ISA has its own function, chosen at run time, so the binary runs on any x86-64.
#include "microkernels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

// 12 independent accumulators: latency 4 x 2 ports = 8 in flight, with room to spare.
#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

__attribute__((target("avx512f")))
static double peak_avx512(long iterations, float *sink) {
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
#define DECLARE(i) __m512 x##i = _mm512_set1_ps((float)(i + 1));
    CHAINS(DECLARE)
    for (long it = 0; it < iterations; ++it) {
#define STEP(i) x##i = _mm512_fmadd_ps(x##i, a, b);
        CHAINS(STEP)
    }
    __m512 sum = _mm512_setzero_ps();
#define SUM(i) sum = _mm512_add_ps(sum, x##i);
    CHAINS(SUM)
    *sink = _mm512_reduce_add_ps(sum);
    return (double)iterations * 12 * 16 * 2;
}

__attribute__((target("avx2,fma")))
static double peak_avx2(long iterations, float *sink) {
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
#undef DECLARE
#undef STEP
#undef SUM
#define DECLARE(i) __m256 x##i = _mm256_set1_ps((float)(i + 1));
    CHAINS(DECLARE)
    for (long it = 0; it < iterations; ++it) {
#define STEP(i) x##i = _mm256_fmadd_ps(x##i, a, b);
        CHAINS(STEP)
    }
    __m256 sum = _mm256_setzero_ps();
#define SUM(i) sum = _mm256_add_ps(sum, x##i);
    CHAINS(SUM)
    float lanes[8];
    _mm256_storeu_ps(lanes, sum);
    float total = 0;
    for (int i = 0; i < 8; ++i) total += lanes[i];
    *sink = total;
    return (double)iterations * 12 * 8 * 2;
}

// SSE2 has no fma: a multiply and an add per lane, counted as 2 flops.
static double peak_sse2(long iterations, float *sink) {
    const __m128 a = _mm_set1_ps(0.999999f), b = _mm_set1_ps(1e-7f);
#undef DECLARE
#undef STEP
#undef SUM
#define DECLARE(i) __m128 x##i = _mm_set1_ps((float)(i + 1));
    CHAINS(DECLARE)
    for (long it = 0; it < iterations; ++it) {
#define STEP(i) x##i = _mm_add_ps(_mm_mul_ps(x##i, a), b);
        CHAINS(STEP)
    }
    __m128 sum = _mm_setzero_ps();
#define SUM(i) sum = _mm_add_ps(sum, x##i);
    CHAINS(SUM)
    float lanes[4];
    _mm_storeu_ps(lanes, sum);
    *sink = lanes[0] + lanes[1] + lanes[2] + lanes[3];
    return (double)iterations * 12 * 4 * 2;
}

const char *saegeo_fma_isa(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
    return "sse2";
}

double saegeo_fma_peak(long iterations, float *sink) {
    const char *isa = saegeo_fma_isa();
    if (isa[3] == '5') return peak_avx512(iterations, sink);
    if (isa[3] == '2') return peak_avx2(iterations, sink);
    return peak_sse2(iterations, sink);
}

const char *saegeo_blas_core_for_cpu(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
    return 0;
}

#else
const char *saegeo_blas_core_for_cpu(void) { return 0; }

// Other CPUs: plain scalar chains, which the compiler vectorises as it can.
const char *saegeo_fma_isa(void) { return "scalar"; }

double saegeo_fma_peak(long iterations, float *sink) {
    float x[64];
    for (int i = 0; i < 64; ++i) x[i] = (float)(i + 1);
    for (long it = 0; it < iterations; ++it)
        for (int i = 0; i < 64; ++i) x[i] = x[i] * 0.999999f + 1e-7f;
    float total = 0;
    for (int i = 0; i < 64; ++i) total += x[i];
    *sink = total;
    return (double)iterations * 64 * 2;
}
#endif

void saegeo_copy_floats(float *restrict destination, const float *restrict source, size_t n) {
    memcpy(destination, source, n * sizeof(float));
}
