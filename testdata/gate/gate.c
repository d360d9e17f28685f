/* The application of the CI gate tests (tests/gates.rs, docs/ci.md): a program with a
 * known, stable memory that budgets are checked against. It links libgatea.so and
 * libgateb.so (two objects one glob matches, text of different sizes), puts HEAP
 * bytes (its first argument, default 1 MiB) on the brk heap and writes every page,
 * prints READY, and then waits on its standard input, touching nothing (stdio's
 * buffers are static). Each line
 * `grow N` puts N more bytes on the heap, written, and answers GREW; the end of its
 * input ends it. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gate_a(int);
int gate_b(int);

static void heap(size_t n) {
    char *p = malloc(n);
    if (!p) {
        perror("malloc");
        exit(1);
    }
    memset(p, 1, n);
}

static char inbuf[4096], outbuf[4096];

int main(int argc, char **argv) {
    /* stdio's buffers are not allocated on the heap at their first use (which would
     * come after READY, while the test reads the memory). */
    setvbuf(stdin, inbuf, _IOFBF, sizeof inbuf);
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
    /* Every allocation from the brk heap, none from a mapping of its own. */
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    mallopt(M_TOP_PAD, 0);
    heap(argc > 1 ? strtoul(argv[1], NULL, 0) : 1 << 20);
    int r = gate_a(1) + gate_b(2);
    printf("READY\n");
    fflush(stdout);
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        unsigned long n;
        if (sscanf(line, "grow %lu", &n) == 1) {
            heap(n);
            printf("GREW\n");
            fflush(stdout);
        }
    }
    return r == 0;
}
