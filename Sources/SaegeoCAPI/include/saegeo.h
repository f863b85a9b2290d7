/* saegeo.h: the C interface of SaegeoCore that the Python package (ctypes) calls in process.
 * CONTRACT shared by two helpers (h-capi implements it in Swift with @_cdecl; h-py calls it).
 *
 * Conventions
 * - Every function that can fail returns an int status: 0 success, else the error kind
 *   1 bad input, 2 bad file, 3 i/o, 4 device, 5 usage, 6 interrupted (Ctrl-C / saegeo_cancel).
 *   saegeo_last_error() then returns the one-line message (thread-local; valid until the next
 *   saegeo call on the same thread). A failed call leaves its object usable (or says it is closed).
 * - Objects are opaque handles (void *), freed with their *_free function (NULL is a no-op).
 *   One call at a time per object (a scorer or contrast is not for concurrent use; the caller
 *   locks); different objects may be used from different threads at once. A scorer or contrast
 *   keeps what it needs of its SAE: the SAE handle may be freed before them.
 * - Strings in are UTF-8, NUL-terminated; strings out (char **) are malloc'd by the library and
 *   freed by the caller with saegeo_free_string.
 * - Arrays in are read in place during the call and never kept after it returns (the library copies
 *   what it must keep). Arrays out are caller-allocated buffers of the documented size.
 * - Every computing call takes a cancel token (may be NULL) and a progress callback (may be NULL).
 *   The callback is called from a worker thread: progress(label, done, total, user).
 * - memory_budget < 0 means none (the defaults); device is "auto", "cpu", "opencl:0", "cpu,opencl:0"...
 * - precision is "auto" (also NULL), "float32" or "bfloat16", as --precision: the arithmetic of the
 *   CPU's products; the results are float32's either way (bfloat16 is a certified first pass).
 * - dtype codes for activations: 0 float32, 1 float16, 2 bfloat16 (rows row-major, contiguous).
 */
#include <stdint.h>

typedef void (*saegeo_progress_fn)(const char *label, int64_t done, int64_t total, void *user);

const char *saegeo_version(void);                 /* static string, e.g. "0.9.0" */
const char *saegeo_last_error(void);              /* "" when none */
void saegeo_free_string(char *s);

/* [{"id": "opencl:0", "name", "vendor", "type": "gpu"|"cpu"|..., "backend", "global_memory_bytes",
 *   "max_allocation_bytes", "compute_units", "driver_version"}], exactly as `saegeo devices --json` */
int saegeo_devices_json(char **out_json);

/* Cancellation: one token may serve several calls; saegeo_cancel is async-signal-safe enough to
 * call from a Python signal handler (it only sets a flag). A cancelled token stays cancelled:
 * use a new one for the next call. A cancelled add adds nothing (status 6); the object stays usable. */
void *saegeo_cancel_new(void);
void saegeo_cancel(void *token);
void saegeo_cancel_free(void *token);

/* SAEs: every family and file the CLI reads (format NULL = detect; else as --format takes). */
int saegeo_sae_open(const char *path, const char *format, void **out_sae);
/* {"d_sae", "d_model", "family", "architecture", "dtype", ...} as `saegeo inspect --json` names them */
int saegeo_sae_info_json(void *sae, char **out_json);
void saegeo_sae_free(void *sae);

/* Exact top-k by decoder cosine, bit-identical to `saegeo neighbors` for the same arguments.
 * queries / keys: NULL = all features (then n_queries / n_keys are ignored); ids in range.
 * keys_sae: NULL = the same dictionary. Outputs: out_indices int64 [nq * k] (-1 where fewer keys),
 * out_scores float32 [nq * k], nq = n_queries or d_sae. */
int saegeo_neighbors(void *sae, int64_t k, const int64_t *queries, int64_t n_queries,
                     const int64_t *keys, int64_t n_keys, void *keys_sae,
                     const char *device, const char *precision, int64_t memory_budget, void *cancel,
                     saegeo_progress_fn progress, void *user,
                     int64_t *out_indices, float *out_scores);

/* Streaming scorer: the toxic proximities are computed at creation; each add scores its batch of
 * whole samples (offsets: n_offsets = samples + 1 values rising from 0 to rows; NULL = one sample
 * per row). finish computes the dataset summary (the CLI's --summary, with null_sets draws and
 * seed; null_sets 0 = no draws) and returns a result; the scorer is closed after a finish that
 * succeeds (a later add/finish gives status 5); a failed finish leaves it open. */
int saegeo_scorer_new(void *sae, const int64_t *toxic, int64_t n_toxic, const char *device, const char *precision,
                      int64_t explain, int32_t skip_nonfinite, int64_t memory_budget, void **out_scorer);
int saegeo_scorer_add(void *scorer, const void *rows, int32_t dtype, int64_t n_rows, int64_t d_model,
                      const int64_t *offsets, int64_t n_offsets, void *cancel,
                      saegeo_progress_fn progress, void *user);
int saegeo_scorer_finish(void *scorer, int64_t null_sets, uint64_t seed, void *cancel, void **out_result);
void saegeo_scorer_free(void *scorer);

int64_t saegeo_result_samples(void *result);
/* out_scores float64 [samples], out_active int64 [samples] */
void saegeo_result_copy(void *result, double *out_scores, int64_t *out_active);
/* explain (when explain > 0): [[{"feature", "activation", "proximity", "nearest_toxic"}, ...] per sample],
 * summary: the CLI's --summary JSON object */
int saegeo_result_explain_json(void *result, char **out_json);
int saegeo_result_summary_json(void *result, char **out_json);
void saegeo_result_free(void *result);

/* Contrast: add_a / add_b stream batches of whole samples into set A / B (paired: the same
 * samples in the same order in both). finish ranks every feature and returns the table as the CLI's
 * .jsonl rows in one JSON array of objects (its column names), plus the toxic measurement when
 * toxic ids are given (top = --top, <= 0 for its default 20; null_sets, seed): {"rows": [...], "toxic": {...} | null}.
 * Paired: the n-th add_a and the n-th add_b must hold the same samples (same lengths), else status 1. */
int saegeo_contrast_new(void *sae, const char *device, const char *precision, int32_t paired, int64_t memory_budget, void **out_contrast);
int saegeo_contrast_add(void *contrast, int32_t set /* 0 = A, 1 = B */, const void *rows, int32_t dtype,
                        int64_t n_rows, int64_t d_model, const int64_t *offsets, int64_t n_offsets,
                        void *cancel, saegeo_progress_fn progress, void *user);
int saegeo_contrast_finish(void *contrast, const int64_t *toxic, int64_t n_toxic, int64_t top,
                           int64_t null_sets, uint64_t seed, void *cancel, char **out_json);
void saegeo_contrast_free(void *contrast);
