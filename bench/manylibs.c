/*
 * manylibs: benchmark target for elfmaps.
 *
 * dlopen()s (RTLD_LAZY|RTLD_LOCAL) shared libraries from a library directory
 * (default /usr/lib/x86_64-linux-gnu) until about TARGET objects are loaded
 * (counted with dl_iterate_phdr, so dependencies pulled in count too).
 * libLLVM (highest version present, >100 MB) is always loaded first.
 * Sanitizer runtimes, malloc replacements and preload-only helpers are never
 * tried (skip_prefixes below).
 *
 * Every candidate is first tried in a fork()ed child that inherits exactly the
 * libraries loaded so far; only if that child's dlopen() returns success within
 * a timeout is the library dlopen()ed in this process.  A library whose
 * constructor crashes, aborts, hangs or fails therefore cannot kill us.
 *
 * Output (stdout): "objects N", "pid N", "maps N" (lines in /proc/self/maps),
 * "skipped N" (candidates whose dlopen failed), then "READY".
 * Then it blocks until stdin reaches EOF and _exit()s (no destructors run).
 *
 * usage: manylibs [TARGET_OBJECTS [LIBDIR]]   (default 420 objects, ~2,200 maps lines)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRY_TIMEOUT_MS 5000

/* Name prefixes never loaded: sanitizer runtimes, malloc replacements and
 * preload-only helpers (they may break the process after dlopen succeeds). */
static const char *skip_prefixes[] = {
    "libasan", "libtsan", "liblsan", "libubsan", "libhwasan",
    "libc_malloc_debug", "libmemusage", "libpcprofile", "libSegFault",
    "libtcmalloc", "libjemalloc", "libmimalloc", "libhoard",
    "preloadable_libintl", "libdrop_ambient", "libpsx",
    "ld-linux", "libgstcheck", "libvulkan_", "libfakeroot",
    NULL,
};

struct cand { char *path; char *base; };

static int count_cb(struct dl_phdr_info *info, size_t size, void *data) {
    (void)info; (void)size;
    ++*(int *)data;
    return 0;
}

static int object_count(void) {
    int n = 0;
    dl_iterate_phdr(count_cb, &n);
    return n;
}

static int maps_lines(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = getc(f)) != EOF) if (c == '\n') n++;
    fclose(f);
    return n;
}

static int is_elf(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    unsigned char m[4];
    ssize_t r = read(fd, m, 4);
    close(fd);
    return r == 4 && m[0] == 0x7f && m[1] == 'E' && m[2] == 'L' && m[3] == 'F';
}

static int skipped_name(const char *base) {
    for (int i = 0; skip_prefixes[i]; i++)
        if (strncmp(base, skip_prefixes[i], strlen(skip_prefixes[i])) == 0) return 1;
    return 0;
}

static int cmp_cand(const void *a, const void *b) {
    return strcmp(((const struct cand *)a)->base, ((const struct cand *)b)->base);
}

static void sleep_ms(long ms) {
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* 1 if dlopen(path) succeeds in a forked child within the timeout. */
static int try_in_child(const char *path) {
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) { dup2(nul, 0); dup2(nul, 1); dup2(nul, 2); }
        alarm(TRY_TIMEOUT_MS / 1000 + 1);
        void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
        _exit(h ? 0 : 1);
    }
    int status = 0;
    for (long waited = 0;; waited++) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) return 0;
        if (waited >= TRY_TIMEOUT_MS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return 0;
        }
        sleep_ms(1);
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv) {
    int target = argc > 1 ? atoi(argv[1]) : 420;
    const char *dir = argc > 2 ? argv[2] : "/usr/lib/x86_64-linux-gnu";
    if (target <= 0) target = 420;
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* die with the harness */

    DIR *d = opendir(dir);
    if (!d) { perror(dir); return 2; }
    size_t n = 0, cap = 256;
    struct cand *c = malloc(cap * sizeof *c);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        if (fnmatch("*.so", nm, 0) != 0 && fnmatch("*.so.*", nm, 0) != 0) continue;
        if (skipped_name(nm)) continue;
        char full[PATH_MAX], real[PATH_MAX];
        snprintf(full, sizeof full, "%s/%s", dir, nm);
        if (!realpath(full, real)) continue;
        struct stat st;
        if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        const char *rb = strrchr(real, '/');
        rb = rb ? rb + 1 : real;
        if (skipped_name(rb)) continue;
        int dup = 0;
        for (size_t i = 0; i < n && !dup; i++) dup = strcmp(c[i].path, real) == 0;
        if (dup) continue;
        if (!is_elf(real)) continue; /* linker scripts such as libc.so */
        if (n == cap) c = realloc(c, (cap *= 2) * sizeof *c);
        c[n].path = strdup(real);
        c[n].base = strdup(rb);
        n++;
    }
    closedir(d);
    qsort(c, n, sizeof *c, cmp_cand);

    /* Move libLLVM to the front (the highest-sorting name, i.e. newest). */
    for (size_t i = n; i-- > 0;) {
        if (strncmp(c[i].base, "libLLVM", 7) != 0) continue;
        struct cand t = c[i];
        memmove(&c[1], &c[0], i * sizeof *c);
        c[0] = t;
        break;
    }

    int have_llvm = 0, failed = 0;
    for (size_t i = 0; i < n && object_count() < target; i++) {
        if (!try_in_child(c[i].path)) {
            failed++;
            if (strncmp(c[i].base, "libLLVM", 7) == 0)
                fprintf(stderr, "manylibs: %s failed to load in child\n", c[i].path);
            continue;
        }
        if (!dlopen(c[i].path, RTLD_LAZY | RTLD_LOCAL)) { failed++; continue; }
        if (strncmp(c[i].base, "libLLVM", 7) == 0) have_llvm = 1;
    }
    if (!have_llvm) {
        fprintf(stderr, "manylibs: libLLVM not loaded\n");
        return 3;
    }

    printf("objects %d\n", object_count());
    printf("pid %d\n", (int)getpid());
    printf("maps %d\n", maps_lines());
    printf("skipped %d\n", failed);
    printf("READY\n");
    fflush(stdout);

    char buf[256];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0) break;
        if (r < 0 && errno != EINTR) break;
    }
    _exit(0);
}
