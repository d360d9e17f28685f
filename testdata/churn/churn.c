/* A process whose maps change all the time: it maps, protects and unmaps anonymous
 * memory, and dlopens and dlcloses a library, in a loop, until stdin closes.
 * tests/hostile.rs builds it with `cc -O0 -pthread -o churn churn.c -ldl` and reads
 * it with elfmaps again and again while it churns. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

static void *churn(void *lib) {
    for (unsigned i = 0;; i++) {
        char *p = mmap(NULL, 64 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            p[0] = 1;
            mprotect(p + 4096 * (i % 60), 4096, PROT_READ);
            munmap(p + 4096 * (i % 17), 4096 * 3);
            munmap(p, 64 * 4096);
        }
        if (lib && i % 50 == 0) {
            void *h = dlopen((const char *)lib, RTLD_NOW | RTLD_LOCAL);
            if (h) dlclose(h);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t t;
    pthread_create(&t, NULL, churn, argc > 1 ? argv[1] : NULL);
    printf("READY\n");
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
