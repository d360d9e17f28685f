/*
 * floor: the kernel's part of a scrape of `elfmaps metrics`, which no cache can save.
 * Used by bench/metrics.py.
 *
 * usage: floor smaps PID...    reads each process's /proc/PID/smaps whole
 *        floor rss PID...      reads each process's /proc/PID/maps whole, then one
 *                              PAGEMAP_SCAN of its user address space (what
 *                              `--rss-only` reads; Linux 6.7+)
 *        floor idle N MS       starts N children that each map a few libraries and
 *                              sleep; prints their PIDs on one line, then waits until
 *                              stdin closes (or MS milliseconds when MS > 0), and
 *                              kills them
 * Prints nothing else; exit 1 when a file could not be read.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

struct page_region { uint64_t start, end, categories; };
struct pm_scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages,
        category_inverted, category_mask, category_anyof_mask, return_mask;
};
#define PAGE_IS_PRESENT (1ULL << 3)
#define PAGE_IS_SWAPPED (1ULL << 4)
#define PAGE_IS_PFNZERO (1ULL << 5)
#define PAGE_IS_HUGE (1ULL << 6)
#define PAGEMAP_SCAN_IOCTL _IOWR('f', 16, struct pm_scan_arg)

static char buf[1 << 18];

static int slurp(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
    return 0;
}

static int scan(const char *pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/pagemap", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    static struct page_region regions[4096];
    uint64_t at = 0, end = (1ULL << 47) - 4096;
    while (at < end) {
        struct pm_scan_arg a = {0};
        a.size = sizeof a;
        a.start = at;
        a.end = end;
        a.vec = (uint64_t)(uintptr_t)regions;
        a.vec_len = 4096;
        a.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
        a.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_PFNZERO | PAGE_IS_HUGE;
        long n = ioctl(fd, PAGEMAP_SCAN_IOCTL, &a);
        if (n < 0) { close(fd); return -1; }
        if (a.walk_end <= at || (uint64_t)n < a.vec_len) break;
        at = a.walk_end;
    }
    close(fd);
    return 0;
}

static const char *libs[] = {"libz.so.1", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1",
                             "libcrypto.so.3", "libssl.so.3", "libexpat.so.1", "libzstd.so.1"};

int main(int argc, char **argv) {
    if (argc >= 4 && strcmp(argv[1], "idle") == 0) {
        int n = atoi(argv[2]), ms = atoi(argv[3]);
        pid_t *kids = calloc(n, sizeof *kids);
        int fds[2];
        if (pipe(fds) != 0) return 1;
        for (int i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) {
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (unsigned k = 0; k < sizeof libs / sizeof *libs; k++)
                    if (k <= (unsigned)(i % 8)) dlopen(libs[k], RTLD_NOW | RTLD_LOCAL);
                char *heap = malloc(256 * 1024 * (1 + i % 4));
                if (heap) memset(heap, 1, 256 * 1024 * (1 + i % 4));
                (void)write(fds[1], "x", 1);
                for (;;) pause();
            }
            kids[i] = p;
        }
        char x;
        for (int i = 0; i < n; i++) (void)read(fds[0], &x, 1);
        for (int i = 0; i < n; i++) printf("%s%d", i ? "," : "", kids[i]);
        printf("\n");
        fflush(stdout);
        if (ms > 0) usleep(ms * 1000);
        else while (read(0, buf, sizeof buf) > 0) {}
        for (int i = 0; i < n; i++) kill(kids[i], SIGKILL);
        while (wait(NULL) > 0) {}
        return 0;
    }
    if (argc < 2) return 2;
    int rss = strcmp(argv[1], "rss") == 0, bad = 0;
    for (int i = 2; i < argc; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%s/%s", argv[i], rss ? "maps" : "smaps");
        if (slurp(path) != 0) bad = 1;
        if (rss && scan(argv[i]) != 0) bad = 1;
    }
    return bad;
}
