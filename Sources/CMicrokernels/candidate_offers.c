// The running candidate lists' offers (candidate_offers.h): the inner loops of every neighbour
// pass on the CPU, after the product. In C for the vector clones (Swift builds for baseline x86-64).
//
// Why pending buffers and not a heap per row: a row of lists of 96 offered 16384 values in random
// order takes about 96 (1 + ln(16384 / 96)) = 590 of them, and a heap insertion sinks through
// ~7 levels of dependent loads and an unpredictable exit, ~40 ns measured. Appending costs a few
// cycles; a flush selects the best `capacity` of kept + pending over the scores' order-preserving
// integer keys (with AVX-512 a quickselect on compressed vectors, elsewhere a bisection comparing
// whole vectors), a few cycles per appended value. The stale bar lets through about a fifth more
// values than a heap's fresh root. Ties at the cut go to kept slots first, then to pending values
// in the order they came; a flush keeps slots in that order, so either way the earliest of tied
// values stay (-0 and +0 aside, which compare equal).
#include "candidate_offers.h"
#include <immintrin.h>

// The order-preserving integer of a float: key(a) < key(b) iff a < b, for floats other than NaN,
// with -0 below +0. The map is its own inverse.
static inline int32_t key_of(float v) {
    int32_t b = __builtin_bit_cast(int32_t, v);
    return b ^ ((b >> 31) & 0x7fffffff);
}

static inline float value_of(int32_t key) {
    return __builtin_bit_cast(float, key ^ ((key >> 31) & 0x7fffffff));
}

typedef float floats16 __attribute__((vector_size(64), aligned(4), may_alias));
typedef int32_t ints16 __attribute__((vector_size(64)));
typedef int32_t unaligned_ints16 __attribute__((vector_size(64), aligned(4), may_alias));

// flush for rows too long for the stack copy: the same cut and the same values kept, keys
// computed as they are counted.
static size_t count_values_at_least(const float *values, size_t n, int32_t key) {
    size_t count = 0;
    for (size_t i = 0; i < n; i++) count += key_of(values[i]) >= key;
    return count;
}

static void flush_large(const saegeo_candidates *lists, size_t row) {
    size_t capacity = lists->capacity, m = lists->pending_counts[row];
    float *scores = lists->scores + row * capacity, *pending = lists->pending_scores + row * lists->pending_slots;
    int32_t *ids = lists->ids + row * capacity, *pending_ids = lists->pending_ids + row * lists->pending_slots;
    int32_t largest = INT32_MIN;
    for (size_t i = 0; i < capacity; i++) largest = key_of(scores[i]) > largest ? key_of(scores[i]) : largest;
    for (size_t j = 0; j < m; j++) largest = key_of(pending[j]) > largest ? key_of(pending[j]) : largest;
    int64_t low = key_of(lists->bars[row]), high = (int64_t)largest + 1;
    while (high - low > 1) {
        int64_t mid = low + (high - low) / 2;
        size_t n = count_values_at_least(scores, capacity, (int32_t)mid) + count_values_at_least(pending, m, (int32_t)mid);
        if (n >= capacity) low = mid; else high = mid;
    }
    int32_t cut = (int32_t)low;
    size_t above = high > INT32_MAX ? 0 : count_values_at_least(scores, capacity, (int32_t)high)
                                          + count_values_at_least(pending, m, (int32_t)high);
    // Compacted in place, kept slots then pending values, the first ties met staying (as in
    // flush_portable): a kept slot is never written before it is read.
    size_t ties = capacity - above, w = 0;
    for (size_t j = 0; j < capacity + m; j++) {
        float value = j < capacity ? scores[j] : pending[j - capacity];
        int32_t id = j < capacity ? ids[j] : pending_ids[j - capacity], key = key_of(value);
        int tie = key == cut && ties > 0;
        ties -= (size_t)tie;
        if (key > cut || tie) {
            scores[w] = value;
            ids[w] = id;
            w++;
        }
    }
    lists->pending_counts[row] = 0;
    lists->bars[row] = value_of(cut);
}

// How many of the n keys are at or above `key`, 16 lanes at a time (n a multiple of 16).
static inline size_t count_at_least(const int32_t *keys, size_t n, int32_t key) {
    ints16 counts = {0}, bar = counts + key;
    for (size_t i = 0; i < n; i += 16) counts -= *(const unaligned_ints16 *)(keys + i) >= bar;
    return (size_t)__builtin_reduce_add(counts);
}

// Rows whose kept and pending keys fit this many slots are flushed from a copy of their keys on
// the stack, padded to whole vectors with the lowest key (which never counts, as the cut is above
// it: it is at least the bar, and the bar is above INT32_MIN but for NaN's bits).
#define FLUSH_STACK_KEYS 2048

// Keeps the best `capacity` of a row's kept and pending values; ties at the cut go to kept slots
// first, then to pending ones in the order they came. The bar becomes the cut, the lowest kept.
// (The portable way: the cut by bisection over the keys, the values gathered without branches.)
__attribute__((target_clones("avx2", "default")))
static void flush_portable(const saegeo_candidates *lists, size_t row) {
    size_t capacity = lists->capacity, m = lists->pending_counts[row];
    if (m == 0) return;
    float *scores = lists->scores + row * capacity, *pending = lists->pending_scores + row * lists->pending_slots;
    int32_t *ids = lists->ids + row * capacity, *pending_ids = lists->pending_ids + row * lists->pending_slots;
    size_t n = capacity + m, padded = (n + 15) / 16 * 16;
    if (padded > FLUSH_STACK_KEYS) return flush_large(lists, row);
    int32_t keys[FLUSH_STACK_KEYS] __attribute__((aligned(64)));
    int32_t largest = INT32_MIN;
    for (size_t i = 0; i < capacity; i++) keys[i] = key_of(scores[i]);
    for (size_t j = 0; j < m; j++) keys[capacity + j] = key_of(pending[j]);
    for (size_t i = n; i < padded; i++) keys[i] = INT32_MIN;
    for (size_t i = 0; i < n; i++) largest = keys[i] > largest ? keys[i] : largest;
    // The cut t: the largest key with at least `capacity` keys at or above it. Every kept value
    // is at or above the bar, so the bar's key qualifies; one past the largest key does not.
    int64_t low = key_of(lists->bars[row]), high = (int64_t)largest + 1;
    while (high - low > 1) {
        int64_t mid = low + (high - low) / 2;
        if (count_at_least(keys, padded, (int32_t)mid) >= capacity) low = mid; else high = mid;
    }
    int32_t cut = (int32_t)low;
    // Keys above the cut all stay (fewer than `capacity`, by its choice); the rest of the places go
    // to keys at the cut, the first ones met (kept slots, then pending in the order they came).
    // Gathered without branches on the stack, then copied back.
    size_t ties = capacity - (high > INT32_MAX ? 0 : count_at_least(keys, padded, (int32_t)high));
    float kept_scores[FLUSH_STACK_KEYS];
    int32_t kept_ids[FLUSH_STACK_KEYS];
    size_t w = 0;
    for (size_t j = 0; j < n; j++) {
        int tie = keys[j] == cut && ties > 0;
        ties -= (size_t)tie;
        kept_scores[w] = j < capacity ? scores[j] : pending[j - capacity];
        kept_ids[w] = j < capacity ? ids[j] : pending_ids[j - capacity];
        w += (size_t)(keys[j] > cut || tie);
    }
    for (size_t i = 0; i < capacity; i++) {
        scores[i] = kept_scores[i];
        ids[i] = kept_ids[i];
    }
    lists->pending_counts[row] = 0;
    lists->bars[row] = value_of(cut);
}

// The first min(left, 16) lanes.
__attribute__((target("avx512f")))
static inline __mmask16 first_lanes(size_t left) {
    return left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
}

// flush with AVX-512, the same result: the cut by selection (a quickselect whose partitions are
// compressed vectors: a few passes over ever fewer keys, where bisection makes ~23 over all), the
// values that stay compressed into place.
__attribute__((target("avx512f,popcnt")))
static void flush_avx512(const saegeo_candidates *lists, size_t row) {
    size_t capacity = lists->capacity, m = lists->pending_counts[row];
    if (m == 0) return;
    size_t n = capacity + m;
    if (n + 16 > FLUSH_STACK_KEYS) return flush_large(lists, row);
    float *scores = lists->scores + row * capacity, *pending = lists->pending_scores + row * lists->pending_slots;
    int32_t *ids = lists->ids + row * capacity, *pending_ids = lists->pending_ids + row * lists->pending_slots;
    // Kept then pending, side by side: keys, scores, ids; `active` the keys still in the running.
    int32_t keys[FLUSH_STACK_KEYS] __attribute__((aligned(64))), active[FLUSH_STACK_KEYS] __attribute__((aligned(64)));
    float values[FLUSH_STACK_KEYS];
    int32_t value_ids[FLUSH_STACK_KEYS];
    const __m512i sign_off = _mm512_set1_epi32(0x7fffffff);
    for (size_t part = 0; part < 2; part++) {
        const float *from = part ? pending : scores;
        const int32_t *from_ids = part ? pending_ids : ids;
        size_t count = part ? m : capacity, base = part ? capacity : 0;
        for (size_t i = 0; i < count; i += 16) {
            __mmask16 lanes = first_lanes(count - i);
            __m512i bits = _mm512_maskz_loadu_epi32(lanes, from + i);
            __m512i key = _mm512_xor_si512(bits, _mm512_and_si512(_mm512_srai_epi32(bits, 31), sign_off));
            _mm512_mask_storeu_epi32(keys + base + i, lanes, key);
            _mm512_mask_storeu_epi32(active + base + i, lanes, key);
            _mm512_mask_storeu_epi32(values + base + i, lanes, bits);
            _mm512_mask_storeu_epi32(value_ids + base + i, lanes, _mm512_maskz_loadu_epi32(lanes, from_ids + i));
        }
    }
    // The cut: the capacity-th largest key. `need` counts down as larger keys are set aside.
    size_t length = n, need = capacity;
    int32_t cut;
    for (;;) {
        if (length <= 16) {
            __mmask16 lanes = first_lanes(length);
            __m512i a = _mm512_maskz_loadu_epi32(lanes, active);
            cut = active[0];
            for (size_t i = 0; i < length; i++) {
                __m512i v = _mm512_set1_epi32(active[i]);
                size_t above = (size_t)__builtin_popcount(_mm512_mask_cmpgt_epi32_mask(lanes, a, v));
                size_t at = (size_t)__builtin_popcount(_mm512_mask_cmpeq_epi32_mask(lanes, a, v));
                if (above < need && need <= above + at) { cut = active[i]; break; }
            }
            break;
        }
        int32_t p0 = active[0], p1 = active[length / 2], p2 = active[length - 1];
        int32_t pivot = p0 > p1 ? (p1 > p2 ? p1 : (p0 > p2 ? p2 : p0)) : (p0 > p2 ? p0 : (p1 > p2 ? p2 : p1));
        __m512i v = _mm512_set1_epi32(pivot);
        size_t above = 0, at = 0;
        for (size_t i = 0; i < length; i += 16) {
            __mmask16 lanes = first_lanes(length - i);
            __m512i a = _mm512_maskz_loadu_epi32(lanes, active + i);
            above += (size_t)__builtin_popcount(_mm512_mask_cmpgt_epi32_mask(lanes, a, v));
            at += (size_t)__builtin_popcount(_mm512_mask_cmpeq_epi32_mask(lanes, a, v));
        }
        if (above < need && need <= above + at) { cut = pivot; break; }
        // Keep the side that holds the cut, compressed to the front (it never outruns the reads).
        int keep_above = above >= need;
        if (!keep_above) need -= above + at;
        size_t w = 0;
        for (size_t i = 0; i < length; i += 16) {
            __mmask16 lanes = first_lanes(length - i);
            __m512i a = _mm512_maskz_loadu_epi32(lanes, active + i);
            __mmask16 side = keep_above ? _mm512_mask_cmpgt_epi32_mask(lanes, a, v) : _mm512_mask_cmplt_epi32_mask(lanes, a, v);
            _mm512_storeu_si512(active + w, _mm512_maskz_compress_epi32(side, a));
            w += (size_t)__builtin_popcount(side);
        }
        length = w;
    }
    // Values above the cut, and the first `ties` at it (kept slots, then pending, in order).
    __m512i c = _mm512_set1_epi32(cut);
    size_t above = 0;
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 lanes = first_lanes(n - i);
        above += (size_t)__builtin_popcount(_mm512_mask_cmpgt_epi32_mask(lanes, _mm512_maskz_loadu_epi32(lanes, keys + i), c));
    }
    size_t ties = capacity - above, w = 0;
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 lanes = first_lanes(n - i);
        __m512i k = _mm512_maskz_loadu_epi32(lanes, keys + i);
        __mmask16 stay = _mm512_mask_cmpgt_epi32_mask(lanes, k, c);
        unsigned at = _mm512_mask_cmpeq_epi32_mask(lanes, k, c);
        while (at && ties) {
            stay |= (__mmask16)(at & -at);
            at &= at - 1;
            ties--;
        }
        __m512i kept = _mm512_maskz_compress_epi32(stay, _mm512_loadu_si512(values + i));
        __m512i kept_ids = _mm512_maskz_compress_epi32(stay, _mm512_loadu_si512(value_ids + i));
        size_t count = (size_t)__builtin_popcount(stay);
        __mmask16 out = (__mmask16)((1u << count) - 1);
        _mm512_mask_storeu_epi32(scores + w, out, kept);
        _mm512_mask_storeu_epi32(ids + w, out, kept_ids);
        w += count;
    }
    lists->pending_counts[row] = 0;
    lists->bars[row] = value_of(cut);
}

static void flush(const saegeo_candidates *lists, size_t row) {
    if (__builtin_cpu_supports("avx512f") && !lists->portable) flush_avx512(lists, row);
    else flush_portable(lists, row);
}

// Sinks slot i's value to its place in a min-heap: at each level the lower child, the left on a tie.
static void sift_down(float *scores, int32_t *ids, size_t capacity, size_t i) {
    float score = scores[i];
    int32_t id = ids[i];
    for (;;) {
        size_t left = 2 * i + 1;
        if (left >= capacity) break;
        size_t child = left;
        if (left + 1 < capacity && scores[left + 1] < scores[left]) child = left + 1;
        if (!(scores[child] < score)) break;
        scores[i] = scores[child];
        ids[i] = ids[child];
        i = child;
    }
    scores[i] = score;
    ids[i] = id;
}

void saegeo_candidates_open(const saegeo_candidates *lists, size_t first, size_t count) {
    for (size_t row = first; row < first + count; row++) {
        const float *scores = lists->scores + row * lists->capacity;
        int32_t lowest = INT32_MAX;
        for (size_t i = 0; i < lists->capacity; i++) {
            int32_t key = key_of(scores[i]);
            lowest = key < lowest ? key : lowest;
        }
        lists->bars[row] = value_of(lowest);
        lists->pending_counts[row] = 0;
    }
}

void saegeo_candidates_close(const saegeo_candidates *lists, size_t first, size_t count) {
    size_t capacity = lists->capacity;
    for (size_t row = first; row < first + count; row++) {
        flush(lists, row);
        for (size_t i = capacity / 2; i-- > 0;) sift_down(lists->scores + row * capacity, lists->ids + row * capacity, capacity, i);
    }
}

// Appends (score, id) to a row's pending slots. Every writer of the pending slots makes room
// before it writes (here a full row is flushed first; the AVX-512 row offers flush a row with
// fewer than 16 free), so no write passes a row's slots whatever the order of offers.
static inline void take(const saegeo_candidates *lists, size_t row, float score, int32_t id) {
    size_t n = lists->pending_counts[row];
    if (n == lists->pending_slots) {
        flush(lists, row);
        n = 0;
    }
    size_t slot = row * lists->pending_slots + n;
    lists->pending_scores[slot] = score;
    lists->pending_ids[slot] = id;
    lists->pending_counts[row] = (uint32_t)(n + 1);
}

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

__attribute__((target_clones("avx2", "default")))
static void offer_row_portable(const saegeo_candidates *lists, size_t row, const float *values, const int32_t *key_ids,
                               size_t count, int32_t self_id) {
    float bar = lists->bars[row];
    size_t j = 0;
    for (; j + 16 <= count; j += 16) {
        floats16 splat;
        for (int lane = 0; lane < 16; lane++) splat[lane] = bar;
        unsigned mask = WINNERS(values + j, splat);
        while (mask) {
            size_t c = j + (size_t)__builtin_ctz(mask);
            mask &= mask - 1;
            // A flush raises the bar: a later lane must beat the new one.
            if (values[c] > bar && key_ids[c] != self_id) {
                take(lists, row, values[c], key_ids[c]);
                bar = lists->bars[row];
            }
        }
    }
    for (; j < count; j++) {
        if (values[j] > bar && key_ids[j] != self_id) {
            take(lists, row, values[j], key_ids[j]);
            bar = lists->bars[row];
        }
    }
}

// AVX-512: a vector's winners are compressed into the pending slots at once (compressed in a
// register and stored whole, which is fast on every AVX-512 core, unlike a compressing store),
// without a branch per winner. A vector may write 16 slots, so a row with fewer than 16 free is
// flushed first.
__attribute__((target("avx512f,popcnt")))
static void offer_row_avx512(const saegeo_candidates *lists, size_t row, const float *values, const int32_t *key_ids,
                             size_t count, int32_t self_id) {
    size_t slots = lists->pending_slots;
    float *pending = lists->pending_scores + row * slots;
    int32_t *pending_ids = lists->pending_ids + row * slots;
    size_t n = lists->pending_counts[row];
    __m512 bar = _mm512_set1_ps(lists->bars[row]);
    __m512i self = _mm512_set1_epi32(self_id);
    for (size_t j = 0; j < count; j += 16) {
        __mmask16 lanes = first_lanes(count - j);
        __m512 v = _mm512_maskz_loadu_ps(lanes, values + j);
        __mmask16 winners = _mm512_mask_cmp_ps_mask(lanes, v, bar, _CMP_GT_OQ);
        if (!winners) continue;
        __m512i ids = _mm512_maskz_loadu_epi32(winners, key_ids + j);
        winners = _mm512_mask_cmpneq_epi32_mask(winners, ids, self);
        if (n + 16 > slots) {
            lists->pending_counts[row] = (uint32_t)n;
            flush(lists, row);
            n = 0;
            bar = _mm512_set1_ps(lists->bars[row]);
            winners = _mm512_mask_cmp_ps_mask(winners, v, bar, _CMP_GT_OQ);
        }
        _mm512_storeu_ps(pending + n, _mm512_maskz_compress_ps(winners, v));
        _mm512_storeu_si512(pending_ids + n, _mm512_maskz_compress_epi32(winners, ids));
        n += (size_t)__builtin_popcount(winners);
    }
    lists->pending_counts[row] = (uint32_t)n;
}

void saegeo_candidates_offer_row(const saegeo_candidates *lists, size_t row, const float *values,
                                 const int32_t *key_ids, size_t count, int32_t self_id) {
    if (__builtin_cpu_supports("avx512f") && !lists->portable) offer_row_avx512(lists, row, values, key_ids, count, self_id);
    else offer_row_portable(lists, row, values, key_ids, count, self_id);
}

// Rows ahead that column offers ask the cache for.
#define PREFETCH_ROWS 8

__attribute__((target_clones("avx512f", "avx2", "default")))
void saegeo_candidates_offer_columns(const saegeo_candidates *lists, const float *s, size_t ld, size_t rows,
                                     const int32_t *row_ids, size_t first, size_t end, int upper, size_t row_base,
                                     size_t first_candidate, const int32_t *column_ids) {
    for (size_t g = first; g < end; g += 16) {
        size_t width = end - g < 16 ? end - g : 16;
        // Rows that reach some column of the group: on the upper triangle, row_base + r < g + width - 1.
        size_t reach = rows;
        if (upper) reach = g + width - 1 > row_base ? g + width - 1 - row_base : 0;
        if (reach > rows) reach = rows;
        floats16 bars;
        for (int lane = 0; lane < 16; lane++)
            bars[lane] = (size_t)lane < width ? lists->bars[first_candidate + g + lane] : __builtin_inff();
        for (size_t r = 0; r < reach; r++) {
            const float *line = s + r * ld + g;
            // Each row of the group is a line on another page, which the hardware does not
            // prefetch: asked for a few rows ahead.
            __builtin_prefetch(line + PREFETCH_ROWS * ld);
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
                size_t row = first_candidate + column;
                take(lists, row, line[lane], row_ids[r]);
                bars[lane] = lists->bars[row];
            }
        }
    }
}
