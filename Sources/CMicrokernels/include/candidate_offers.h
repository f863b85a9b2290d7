#ifndef SAEGEO_CANDIDATE_OFFERS_H
#define SAEGEO_CANDIDATE_OFFERS_H
#include <stddef.h>
#include <stdint.h>

/// The CPU engine's running candidate lists (RunningCandidates in Swift). Row r keeps the best
/// `capacity` (score, id) pairs offered to it in scores/ids[r * capacity ...], empty slots -inf
/// with id -1. While offers run, a value above the row's bar (the lowest kept score as of its last
/// flush) is appended to the row's pending slots; a full pending buffer is flushed: the best
/// `capacity` of kept and pending stay, the rest go, and the bar becomes the lowest kept. The
/// kept slots are then in no particular order; saegeo_candidates_close flushes what is pending
/// and makes each row a min-heap again (the lowest score at slot 0), the form the lists have
/// between passes. Each row takes its offers in order; between open and close a row is touched
/// by one thread at a time.
typedef struct {
    float *scores;
    int32_t *ids;
    size_t capacity;
    /// pending_slots per row (at least 16: the AVX-512 offers append up to 16 at once), a count
    /// and a bar per row.
    float *pending_scores;
    int32_t *pending_ids;
    size_t pending_slots;
    uint32_t *pending_counts;
    float *bars;
    /// Nonzero to take the portable offers on a CPU with AVX-512 too (tests).
    int portable;
} saegeo_candidates;

/// Starts offers to rows [first, first + count): each row's bar is its lowest kept score (the
/// scores need not be a heap), nothing pending.
void saegeo_candidates_open(const saegeo_candidates *lists, size_t first, size_t count);

/// Flushes rows [first, first + count) and makes each a min-heap: at each level the child with
/// the lower score, the left one on a tie.
void saegeo_candidates_close(const saegeo_candidates *lists, size_t first, size_t count);

/// Offers values[j] with id key_ids[j], j < count, to row `row`: each value above the row's bar
/// whose id is not self_id (NaN never). Compared 16 lanes at a time against the bar; with AVX-512
/// a vector's winners are appended at once.
void saegeo_candidates_offer_row(const saegeo_candidates *lists, size_t row, const float *values,
                                 const int32_t *key_ids, size_t count, int32_t self_id);

/// Offers a block of similarities to the rows of its columns: s[r * ld + c] is the similarity of
/// row r (id row_ids[r]), r < rows, and column c, c in [first, end), offered to list row
/// first_candidate + c, except where the column's id is the row's. With `upper` set, column c takes
/// only rows with row_base + r < c (the upper triangle of a diagonal tile whose band starts at row
/// row_base). Each list receives its rows in order, 16 columns at a time over all rows, so that
/// those 16 lists stay in the L1 cache.
void saegeo_candidates_offer_columns(const saegeo_candidates *lists, const float *s, size_t ld, size_t rows,
                                     const int32_t *row_ids, size_t first, size_t end, int upper, size_t row_base,
                                     size_t first_candidate, const int32_t *column_ids);

#endif
