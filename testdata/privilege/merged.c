/* A PIE whose bss (mapped anonymously by the kernel) is followed by an anonymous
 * mapping the kernel merges with it, so elfmaps must split one maps line at the end of
 * the executable's span and count each part's rss from pagemap. Used by
 * tests/privilege.rs, which builds it with `cc -O0 -o merged merged.c` and runs it as
 * an unprivileged user.
 *
 * After touching its pages it forks a child that waits as it does, then writes
 * again to half of them: those are copied (mapped once, private), the others stay
 * shared with the child, so the line's private memory is neither none nor all of
 * it. Prints the start of the extra mapping, then READY, then waits for stdin to
 * close (the child too). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char big[64 * 4096] __attribute__((aligned(4096)));
extern char _end[];

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t after = ((uintptr_t)_end + page - 1) & ~(uintptr_t)(page - 1);
    char *extra = mmap((void *)after, 16 * page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (extra == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (int i = 0; i < 64; i += 4) big[i * 4096] = 1;  /* 16 bss pages */
    for (int i = 0; i < 16; i += 2) extra[i * page] = 1; /* 8 extra pages */
    fflush(stdout);
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        return 1;
    }
    if (child == 0) {
        char buf[64];
        while (read(0, buf, sizeof buf) > 0) {
        }
        _exit(0);
    }
    for (int i = 0; i < 64; i += 8) big[i * 4096] = 2;   /* 8 bss pages copied */
    for (int i = 0; i < 16; i += 4) extra[i * page] = 2; /* 4 extra pages copied */
    printf("EXTRA %p\nREADY\n", (void *)extra);
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
