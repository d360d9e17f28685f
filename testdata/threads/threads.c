/* Three threads that each print the address of a local variable (which lies on the
 * thread's stack) and the stack and guard that the C library reports for the thread
 * (pthread_getattr_np: "STACK LOCAL LOW HIGH GUARDSIZE", the guard lying right below
 * LOW), then block. tests/cli.rs builds it with `cc -O0 -pthread` and checks that
 * elfmaps labels [LOW, HIGH) `thread_stack` and the guard `guard`, live and from a
 * snapshot. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t ready;

static void *run(void *arg) {
    int local = 0;
    pthread_attr_t attr;
    void *low = NULL;
    size_t size = 0, guard = 0;
    (void)arg;
    pthread_getattr_np(pthread_self(), &attr);
    pthread_attr_getstack(&attr, &low, &size);
    pthread_attr_getguardsize(&attr, &guard);
    pthread_mutex_lock(&lock);
    printf("STACK %p %p %p 0x%zx\n", (void *)&local, low, (void *)((char *)low + size), guard);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
    pthread_barrier_wait(&ready);
    for (;;) pause();
    return NULL;
}

int main(void) {
    pthread_t t[3];
    pthread_barrier_init(&ready, NULL, 4);
    for (int i = 0; i < 3; i++) pthread_create(&t[i], NULL, run, NULL);
    pthread_barrier_wait(&ready);
    printf("READY\n");
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
