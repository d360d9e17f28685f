/*
 * spawn: measuring launcher used by run.py.
 *
 * Why: Linux charges a child's ru_maxrss with the high-water RSS of the
 * address space it exec()s from.  Python's subprocess spawns with vfork /
 * CLONE_VM, so a child reaped by Python with os.wait4 reports at least
 * Python's own peak RSS (~10 MiB, more after a big allocation) even for
 * /bin/true.  This tiny C process starts each measured command instead, so
 * the floor is this process's ~1 MiB.
 *
 * Protocol: reads one command per line on stdin, arguments separated by TAB
 * (any line length and number of arguments: `layout` gets ~400 file names).
 * Runs it with stdin and stdout on /dev/null (stderr: /dev/null too unless
 * SPAWN_STDERR=1), reaps it with wait4 and prints one line:
 *     <wait-status> <wall-ns> <ru_maxrss-KiB> <user-us> <sys-us> <minflt> <majflt>
 * Wall time spans posix_spawn() to wait4() return (CLOCK_MONOTONIC).
 * Exits at EOF on stdin.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int keep_stderr = getenv("SPAWN_STDERR") && strcmp(getenv("SPAWN_STDERR"), "1") == 0;
    char *line = NULL;
    size_t linecap = 0;
    char **args = NULL;
    size_t argcap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, stdin)) >= 0) {
        if (len && line[len - 1] == '\n') line[--len] = 0;
        size_t n = 0;
        for (char *tok = strtok(line, "\t"); tok; tok = strtok(NULL, "\t")) {
            if (n + 1 >= argcap) {
                argcap = argcap ? argcap * 2 : 64;
                args = realloc(args, argcap * sizeof *args);
                if (!args) { perror("spawn: realloc"); return 1; }
            }
            args[n++] = tok;
        }
        if (n == 0) { printf("-1 0 0 0 0 0 0\n"); fflush(stdout); continue; }
        args[n] = NULL;

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        if (!keep_stderr)
            posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);

        pid_t pid;
        int status = 0;
        struct rusage ru;
        memset(&ru, 0, sizeof ru);
        long long t0 = now_ns();
        int err = posix_spawnp(&pid, args[0], &fa, NULL, args, environ);
        if (err == 0) wait4(pid, &status, 0, &ru);
        long long t1 = now_ns();
        posix_spawn_file_actions_destroy(&fa);
        if (err != 0) status = 127 << 8;
        printf("%d %lld %ld %lld %lld %ld %ld\n", status, t1 - t0, ru.ru_maxrss,
               (long long)ru.ru_utime.tv_sec * 1000000LL + ru.ru_utime.tv_usec,
               (long long)ru.ru_stime.tv_sec * 1000000LL + ru.ru_stime.tv_usec,
               ru.ru_minflt, ru.ru_majflt);
        fflush(stdout);
    }
    return 0;
}
