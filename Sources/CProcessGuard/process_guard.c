#define _GNU_SOURCE
#include "process_guard.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { TEMPORARY_SLOTS = 256, MAPPING_SLOTS = 1024, PATH_BYTES = 4096 };
enum { FREE = 0, CLAIMED = 1, READY = 2 };

static _Atomic int temporary_state[TEMPORARY_SLOTS];
static char temporary_path[TEMPORARY_SLOTS][PATH_BYTES];

static _Atomic int mapping_state[MAPPING_SLOTS];
static const char *mapping_base[MAPPING_SLOTS];
static size_t mapping_size[MAPPING_SLOTS];
static char mapping_path[MAPPING_SLOTS][PATH_BYTES];

static int claim(_Atomic int *states, int count) {
    for (int i = 0; i < count; i++) {
        int expected = FREE;
        if (atomic_compare_exchange_strong(&states[i], &expected, CLAIMED)) return i;
    }
    return -1;
}

static void copy_path(char *destination, const char *path) {
    size_t n = strlen(path);
    if (n >= PATH_BYTES) n = PATH_BYTES - 1;
    memcpy(destination, path, n);
    destination[n] = 0;
}

int saegeo_guard_add_temporary(const char *path) {
    int slot = claim(temporary_state, TEMPORARY_SLOTS);
    if (slot < 0) return -1;
    copy_path(temporary_path[slot], path);
    atomic_store(&temporary_state[slot], READY);
    return slot;
}

void saegeo_guard_remove_temporary(int slot) {
    if (slot >= 0 && slot < TEMPORARY_SLOTS) atomic_store(&temporary_state[slot], FREE);
}

void saegeo_guard_unlink_temporaries(void) {
    for (int i = 0; i < TEMPORARY_SLOTS; i++) {
        int expected = READY;
        if (atomic_compare_exchange_strong(&temporary_state[i], &expected, CLAIMED)) unlink(temporary_path[i]);
    }
}

int saegeo_guard_add_mapping(const void *base, size_t size, const char *path) {
    int slot = claim(mapping_state, MAPPING_SLOTS);
    if (slot < 0) return -1;
    mapping_base[slot] = base;
    mapping_size[slot] = size;
    copy_path(mapping_path[slot], path);
    atomic_store(&mapping_state[slot], READY);
    return slot;
}

void saegeo_guard_remove_mapping(int slot) {
    if (slot >= 0 && slot < MAPPING_SLOTS) atomic_store(&mapping_state[slot], FREE);
}

static void write_all(const char *text) {
    size_t n = strlen(text);
    while (n > 0) {
        ssize_t done = write(STDERR_FILENO, text, n);
        if (done <= 0) return;
        text += done;
        n -= (size_t)done;
    }
}

/* Set by the first thread that ends the process: two threads that find the same fault at once
   (two cores reading a truncated input) must not both print, or their lines interleave. The
   others wait for the first one's _exit. */
static atomic_flag ending = ATOMIC_FLAG_INIT;

static void wait_for_the_end(void) {
    for (;;) pause();
}

/* One line in one write(2), so that nothing else on stderr can land inside it. */
static void write_line(const char *first, const char *second, const char *third) {
    char line[3 * PATH_BYTES];
    size_t n = 0;
    const char *parts[3] = {first, second, third};
    for (int i = 0; i < 3; i++) {
        size_t length = strlen(parts[i]);
        if (length > sizeof line - 2 - n) length = sizeof line - 2 - n;
        memcpy(line + n, parts[i], length);
        n += length;
    }
    line[n++] = '\n';
    line[n] = 0;
    write_all(line);
}

void saegeo_guard_die(const char *message, int status) {
    if (atomic_flag_test_and_set(&ending)) wait_for_the_end();
    saegeo_guard_unlink_temporaries();
    write_line("saegeo: error: ", message, "");
    _exit(status);
}

static void on_fault(int signal_number, siginfo_t *info, void *context) {
    (void)signal_number;
    (void)context;
    const char *address = info ? (const char *)info->si_addr : NULL;
    const char *path = NULL;
    for (int i = 0; i < MAPPING_SLOTS && address; i++) {
        if (atomic_load(&mapping_state[i]) == READY && address >= mapping_base[i]
            && address < mapping_base[i] + mapping_size[i]) {
            path = mapping_path[i];
            break;
        }
    }
    if (atomic_flag_test_and_set(&ending)) wait_for_the_end();
    saegeo_guard_unlink_temporaries();
    write_line("saegeo: error: ", path ? path : "an input file",
               " became shorter while saegeo was reading it (truncated or replaced in place); "
               "leave the inputs of a running job alone and run it again");
    _exit(1);
}

void saegeo_guard_install_fault_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, NULL);
}

int saegeo_guard_open_unnamed(const char *folder, unsigned int mode, int readable) {
#ifdef O_TMPFILE
    return open(folder, O_TMPFILE | (readable ? O_RDWR : O_WRONLY) | O_CLOEXEC, (mode_t)mode);
#else
    (void)folder;
    (void)mode;
    (void)readable;
    return -1;
#endif
}

int saegeo_guard_link_unnamed(int descriptor, const char *path) {
    char source[64];
    snprintf(source, sizeof source, "/proc/self/fd/%d", descriptor);
    return linkat(AT_FDCWD, source, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}
