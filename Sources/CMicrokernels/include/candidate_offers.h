#ifndef SAEGEO_CANDIDATE_OFFERS_H
#define SAEGEO_CANDIDATE_OFFERS_H
#include <stddef.h>
#include <stdint.h>

/// The candidate heaps of the CPU engine (CandidateHeap in Swift): a min-heap of `capacity`
/// scores with their ids, the lowest score (the bar) at the root, empty slots -inf.

/// Replaces the root by (score, id) and sifts it down: at each level the child with the lower
/// score (the left one on a tie), until no child is lower than `score`. Call only when score >
/// the root's score.
void saegeo_heap_replace_root(float *scores, int32_t *ids, size_t capacity, float score, int32_t id);

/// Offers row[j] with id key_ids[j], j < count, to one heap: each value above the current bar
/// whose id is not self_id replaces the root (NaN never does). The row is compared 16 lanes at
/// a time against the bar.
void saegeo_heap_offer_row(float *scores, int32_t *ids, size_t capacity, const float *row, const int32_t *key_ids,
                           size_t count, int32_t self_id);

/// Offers a block of similarities to the heaps of its columns: s[r * ld + c] is the similarity
/// of row r (id row_ids[r]), r < rows, and column c, c in [first, end); column c's heap is at
/// scores + (first_candidate + c) * capacity (ids alike), and a column whose id is the row's takes
/// nothing. With `upper` set, column c takes only rows with row_base + r < c (the upper triangle
/// of a diagonal tile whose band starts at row row_base). Each heap receives its rows in order.
/// Taken 16 columns at a time over all rows, so that those 16 heaps stay in the L1 cache while
/// they take their values (a heap's replaced root sinks through most of its levels).
void saegeo_heap_offer_columns(const float *s, size_t ld, size_t rows, const int32_t *row_ids, size_t first,
                               size_t end, int upper, size_t row_base, float *scores, int32_t *ids, size_t capacity,
                               size_t first_candidate, const int32_t *column_ids);

#endif
