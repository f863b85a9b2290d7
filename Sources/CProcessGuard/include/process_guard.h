#ifndef SAEGEO_PROCESS_GUARD_H
#define SAEGEO_PROCESS_GUARD_H
#include <stddef.h>

// What a dying process must still do, from a signal handler: remove the named temporary files a
// job has not committed yet, and name the input file whose mapped page vanished. Both tables are
// fixed arrays of slots claimed with atomics, so a handler reads them without locks or malloc.

/// Records a temporary file to remove if the process dies; returns its slot, or -1 if full.
int saegeo_guard_add_temporary(const char *path);
/// Forgets a temporary (it was renamed into place or removed).
void saegeo_guard_remove_temporary(int slot);
/// Unlinks every recorded temporary. Async-signal-safe.
void saegeo_guard_unlink_temporaries(void);

/// Records a mapped input file; returns its slot, or -1 if full (the file is then named generically).
int saegeo_guard_add_mapping(const void *base, size_t size, const char *path);
void saegeo_guard_remove_mapping(int slot);

/// Installs the SIGBUS handler: an input that shrank under its mapping ends the process with one
/// line naming the file, after removing the temporaries, with exit status 1 (no backtrace).
void saegeo_guard_install_fault_handler(void);

/// Writes "saegeo: error: <message>\n" to stderr, unlinks the temporaries and exits with `status`.
/// Async-signal-safe; for the failures that must not unwind (a vanished input, a second signal).
void saegeo_guard_die(const char *message, int status) __attribute__((noreturn));

/// Opens an unnamed file in `folder` (O_TMPFILE) for writing (and reading, if `readable`): it has no name until linked, so it
/// vanishes with the process however that ends. Returns -1 (errno set) where the file system
/// cannot (NFS, older overlays); the caller then uses a named temporary.
int saegeo_guard_open_unnamed(const char *folder, unsigned int mode, int readable);
/// Gives an unnamed file a name (which must not exist). Returns 0, or -1 with errno set.
int saegeo_guard_link_unnamed(int descriptor, const char *path);

#endif
