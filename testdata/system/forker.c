/* Processes that come and go: forks a child every 200 us that exits within 3 ms, and
 * reaps them, until its standard input ends. tests/system.rs scans the machine while
 * it runs: processes exit between the listing of /proc and their reading. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    fcntl(0, F_SETFL, O_NONBLOCK);
    printf("READY\n");
    fflush(stdout);
    char buf[16];
    for (;;) {
        pid_t p = fork();
        if (p == 0) {
            usleep(rand() % 3000);
            _exit(0);
        }
        while (waitpid(-1, NULL, WNOHANG) > 0) {
        }
        if (read(0, buf, sizeof buf) == 0) {
            break;
        }
        usleep(200);
    }
    while (wait(NULL) > 0) {
    }
    return 0;
}
