/* A process that maps testdata/system's library: dlopens the path in argv[1], calls
 * its touch(), prints READY, then waits for the end of its standard input. */
#include <dlfcn.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    long (*touch)(void) = (long (*)(void))dlsym(h, "touch");
    if (!touch) {
        return 1;
    }
    printf("SUM %ld\nREADY\n", touch());
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
