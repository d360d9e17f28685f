/*
 * A process that exits while it is being read: COUNT one-page anonymous mappings
 * (alternating PROT_READ and PROT_READ|PROT_WRITE inside one reserved range, so that
 * no two merge; the writable ones touched), as bench/manymaps.c. Prints "maps N" (its
 * maps lines, counted from /proc/self/maps) and READY, then reads one line from stdin:
 * a delay in microseconds. It sleeps that long and exits, while the test's elfmaps is
 * reading its smaps, whose end (after the range) it then never reaches. With a line
 * "exec DELAY" it executes `/bin/sleep 30` instead of exiting (a new address space:
 * the old one's smaps ends as short).
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
#include <time.h>
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
    long count = argc > 1 ? atol(argv[1]) : 60000;
    if (count <= 0) count = 60000;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    long pg = sysconf(_SC_PAGESIZE);
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
    printf("maps %d\n", maps_lines());
    printf("READY\n");
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) _exit(0);
    int exec = strncmp(line, "exec ", 5) == 0;
    long us = atol(exec ? line + 5 : line);
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
    if (exec) {
        execl("/bin/sleep", "/bin/sleep", "30", (char *)NULL);
        perror("exec /bin/sleep");
    }
    _exit(0);
}
