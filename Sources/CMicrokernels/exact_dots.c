// The exact ranking's float64 dot products (exact_dots.h says which bits): the hot loop of the
// re-scoring, in C so that the compiler may use the CPU's widest vectors (Swift builds for the
// baseline x86-64, whose SSE2 converts and adds two doubles at a time).
#include "exact_dots.h"

// Vectors of four lanes: lane j holds the sum s_j. Unaligned, may-alias loads.
typedef double lanes4 __attribute__((vector_size(32), aligned(8), may_alias));
typedef float floats4 __attribute__((vector_size(16), aligned(4), may_alias));
#define WIDEN(p) __builtin_convertvector(*(const floats4 *)(p), lanes4)

// The lane sums (passed one by one: a vector argument's ABI would differ between the clones),
// the rest of the products added to s0, then the fixed pairing.
static inline double finish(double s0, double s1, double s2, double s3, const float *x, const float *y, size_t i,
                            size_t n) {
    for (; i < n; i++) s0 = s0 + (double)x[i] * (double)y[i];
    return (s0 + s1) + (s2 + s3);
}
#define FINISH(s, y) finish((s)[0], (s)[1], (s)[2], (s)[3], x, (y), body, n)

__attribute__((target_clones("avx512f", "avx2", "default")))
void saegeo_exact_dots(const float *x, const float *const *rows, size_t count, size_t n, double *out) {
    size_t r = 0, body = n & ~(size_t)3;
    for (; r + 4 <= count; r += 4) {
        const float *y0 = rows[r], *y1 = rows[r + 1], *y2 = rows[r + 2], *y3 = rows[r + 3];
        lanes4 s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
        for (size_t i = 0; i < body; i += 4) {
            lanes4 xv = WIDEN(x + i);
            s0 = s0 + xv * WIDEN(y0 + i);
            s1 = s1 + xv * WIDEN(y1 + i);
            s2 = s2 + xv * WIDEN(y2 + i);
            s3 = s3 + xv * WIDEN(y3 + i);
        }
        out[r] = FINISH(s0, y0);
        out[r + 1] = FINISH(s1, y1);
        out[r + 2] = FINISH(s2, y2);
        out[r + 3] = FINISH(s3, y3);
    }
    for (; r < count; r++) {
        const float *y = rows[r];
        lanes4 s = {0, 0, 0, 0};
        for (size_t i = 0; i < body; i += 4) s = s + WIDEN(x + i) * WIDEN(y + i);
        out[r] = FINISH(s, y);
    }
}

#define FINISH_PAIR(s, x, y) finish((s)[0], (s)[1], (s)[2], (s)[3], (x), (y), body, n)

__attribute__((target_clones("avx512f", "avx2", "default")))
void saegeo_exact_pair_dots(const float *const *xs, const float *const *ys, size_t count, size_t n, double *out) {
    size_t r = 0, body = n & ~(size_t)3;
    for (; r + 4 <= count; r += 4) {
        const float *x0 = xs[r], *x1 = xs[r + 1], *x2 = xs[r + 2], *x3 = xs[r + 3];
        const float *y0 = ys[r], *y1 = ys[r + 1], *y2 = ys[r + 2], *y3 = ys[r + 3];
        lanes4 s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
        for (size_t i = 0; i < body; i += 4) {
            s0 = s0 + WIDEN(x0 + i) * WIDEN(y0 + i);
            s1 = s1 + WIDEN(x1 + i) * WIDEN(y1 + i);
            s2 = s2 + WIDEN(x2 + i) * WIDEN(y2 + i);
            s3 = s3 + WIDEN(x3 + i) * WIDEN(y3 + i);
        }
        out[r] = FINISH_PAIR(s0, x0, y0);
        out[r + 1] = FINISH_PAIR(s1, x1, y1);
        out[r + 2] = FINISH_PAIR(s2, x2, y2);
        out[r + 3] = FINISH_PAIR(s3, x3, y3);
    }
    for (; r < count; r++) {
        const float *x = xs[r], *y = ys[r];
        lanes4 s = {0, 0, 0, 0};
        for (size_t i = 0; i < body; i += 4) s = s + WIDEN(x + i) * WIDEN(y + i);
        out[r] = FINISH_PAIR(s, x, y);
    }
}
