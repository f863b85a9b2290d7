// The candidate heaps' offers (candidate_offers.h): the inner loops of every neighbour pass on
// the CPU, after the product. In C for the vector clones (Swift builds for baseline x86-64) and
// for a sift-down without unpredictable branches.
#include "candidate_offers.h"

// The child to follow is chosen by arithmetic, not by a branch: which of two nearly equal scores
// is lower is a coin toss to the branch predictor, and a replaced root sinks through most levels.
static inline void replace_root(float *scores, int32_t *ids, size_t capacity, float score, int32_t id) {
    size_t i = 0;
    for (;;) {
        size_t left = 2 * i + 1;
        if (left >= capacity) break;
        size_t child = left;
        if (left + 1 < capacity) child += scores[left + 1] < scores[left];
        if (scores[child] >= score) break;
        scores[i] = scores[child];
        ids[i] = ids[child];
        i = child;
    }
    scores[i] = score;
    ids[i] = id;
}

void saegeo_heap_replace_root(float *scores, int32_t *ids, size_t capacity, float score, int32_t id) {
    replace_root(scores, ids, capacity, score, id);
}

typedef float floats16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t ints16 __attribute__((vector_size(64)));

// Which of the 16 lanes at p beat the matching lane of bars, one bit each (lane 0 lowest); a
// macro, since a vector argument's ABI would differ between the clones. Mostly none: one vector
// test, then a bit per lane.
#define WINNERS(p, bars) ({                                                                 \
    ints16 above_ = *(const floats16 *)(p) > (bars);                                        \
    unsigned mask_ = 0;                                                                     \
    if (__builtin_reduce_or(above_) != 0)                                                   \
        for (int lane_ = 0; lane_ < 16; lane_++) mask_ |= (unsigned)(above_[lane_] & 1) << lane_; \
    mask_;                                                                                  \
})

__attribute__((target_clones("avx512f", "avx2", "default")))
void saegeo_heap_offer_row(float *scores, int32_t *ids, size_t capacity, const float *row, const int32_t *key_ids,
                           size_t count, int32_t self_id) {
    float bar = scores[0];
    size_t j = 0;
    for (; j + 16 <= count; j += 16) {
        floats16 splat;
        for (int lane = 0; lane < 16; lane++) splat[lane] = bar;
        unsigned mask = WINNERS(row + j, splat);
        while (mask) {
            size_t c = j + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            // The bar rises as values come in: a later lane must beat the new one.
            if (row[c] > bar && key_ids[c] != self_id) {
                replace_root(scores, ids, capacity, row[c], key_ids[c]);
                bar = scores[0];
            }
        }
    }
    for (; j < count; j++) {
        if (row[j] > bar && key_ids[j] != self_id) {
            replace_root(scores, ids, capacity, row[j], key_ids[j]);
            bar = scores[0];
        }
    }
}

__attribute__((target_clones("avx512f", "avx2", "default")))
void saegeo_heap_offer_columns(const float *s, size_t ld, size_t rows, const int32_t *row_ids, size_t first,
                               size_t end, int upper, size_t row_base, float *scores, int32_t *ids, size_t capacity,
                               size_t first_candidate, const int32_t *column_ids) {
    for (size_t g = first; g < end; g += 16) {
        size_t width = end - g < 16 ? end - g : 16;
        // Rows that reach some column of the group: on the upper triangle, row_base + r < g + width - 1.
        size_t reach = rows;
        if (upper) reach = g + width - 1 > row_base ? g + width - 1 - row_base : 0;
        if (reach > rows) reach = rows;
        floats16 bars;
        for (int lane = 0; lane < 16; lane++)
            bars[lane] = (size_t)lane < width ? scores[(first_candidate + g + lane) * capacity] : __builtin_inff();
        for (size_t r = 0; r < reach; r++) {
            const float *line = s + r * ld + g;
            unsigned mask;
            if (width == 16) {
                mask = WINNERS(line, bars);
            } else {
                mask = 0;
                for (size_t lane = 0; lane < width; lane++) mask |= (unsigned)(line[lane] > bars[lane]) << lane;
            }
            // Upper triangle: only columns g + lane > row_base + r.
            if (upper && row_base + r >= g) {
                size_t skip = row_base + r - g + 1;
                mask = skip >= 16 ? 0 : mask & ~((1u << skip) - 1);
            }
            while (mask) {
                int lane = __builtin_ctz(mask);
                mask &= mask - 1;
                size_t column = g + (size_t)lane;
                if (column_ids[column] == row_ids[r]) continue;
                size_t slot = (first_candidate + column) * capacity;
                replace_root(scores + slot, ids + slot, capacity, line[lane], row_ids[r]);
                bars[lane] = scores[slot];
            }
        }
    }
}
