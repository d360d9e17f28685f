/*
 * manymaps: benchmark target for `run.py --scale`.
 *
 * Creates COUNT distinct one-page anonymous mappings inside one reserved
 * address range, alternating PROT_READ and PROT_READ|PROT_WRITE so adjacent
 * mappings can never merge into one VMA; the writable ones are touched so
 * they have resident pages.  Prints "pid N", "maps N", "READY", then blocks
 * until stdin reaches EOF.
 *
 * usage: manymaps COUNT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static int maps_lines(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    int n = 0, c;
    while ((c = getc(f)) != EOF) if (c == '\n') n++;
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : 30000;
    if (count <= 0) count = 30000;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    long pg = sysconf(_SC_PAGESIZE);
    /* Reserve count+2 pages so the first and last mapping have PROT_NONE
     * neighbours and do not merge with anything outside the range. */
    char *base = mmap(NULL, (size_t)(count + 2) * pg, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) { perror("mmap reserve"); return 2; }
    for (long i = 0; i < count; i++) {
        char *at = base + (i + 1) * pg;
        int prot = (i & 1) ? PROT_READ : PROT_READ | PROT_WRITE;
        void *p = mmap(at, pg, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p == MAP_FAILED) {
            fprintf(stderr, "manymaps: mmap #%ld: %s\n", i, strerror(errno));
            return 2;
        }
        if (prot & PROT_WRITE) *at = 1;
    }
    printf("pid %d\n", (int)getpid());
    printf("maps %d\n", maps_lines());
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
