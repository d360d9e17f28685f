/* A split maps line whose pages are mapped a different number of times: the
 * executable's bss, followed by an anonymous mapping the kernel merges with it (one
 * maps line that elfmaps cuts at the end of the executable's span, as in
 * testdata/privilege/merged.c), written, then shared copy-on-write with two children.
 * The first child writes some of the pages again (its own copies: the parent's are
 * then mapped twice, the others three times). tests/system.rs checks the exact pss of
 * each part against /proc/kpagecount. Prints EXTRA ADDR, then READY, then waits for
 * its standard input to end; the children die with it. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static char big[64 * 4096] __attribute__((aligned(4096)));
extern char _end[];

static void child(int fd, char *extra, long page, int writer) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (writer) {
        for (int i = 0; i < 64; i += 8) big[i * 4096] = 2;  /* 8 bss pages again */
        for (int i = 0; i < 16; i += 4) extra[i * page] = 2; /* 4 extra pages again */
    }
    (void)write(fd, "x", 1);
    for (;;) pause();
}

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t after = ((uintptr_t)_end + page - 1) & ~(uintptr_t)(page - 1);
    char *extra = mmap((void *)after, 16 * page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (extra == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (int i = 0; i < 64; i += 2) big[i * 4096] = 1;  /* 32 bss pages */
    for (int i = 0; i < 16; i += 1) extra[i * page] = 1; /* 16 extra pages */
    int fds[2];
    if (pipe(fds) != 0) return 1;
    for (int c = 0; c < 2; c++) {
        if (fork() == 0) child(fds[1], extra, page, c == 0);
    }
    char x;
    for (int c = 0; c < 2; c++) {
        if (read(fds[0], &x, 1) != 1) return 1;
    }
    printf("EXTRA %p\nREADY\n", (void *)extra);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
