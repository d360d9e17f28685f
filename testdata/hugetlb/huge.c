/* Maps one private and one shared MAP_HUGETLB huge page (the default huge page size,
 * from /proc/meminfo), writes to each, prints "HUGE PRIVATE SHARED LENGTH" (hex) and
 * waits for its stdin to close; prints "NOHUGE reason" when no huge page can be had.
 * tests/cli.rs builds it with `cc` and checks elfmaps' kinds and hugetlb figures. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static unsigned long huge_page_size(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Hugepagesize: %lu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb * 1024;
}

int main(void) {
    unsigned long len = huge_page_size();
    if (len == 0) {
        printf("NOHUGE no Hugepagesize in /proc/meminfo\n");
        return 0;
    }
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    char *s = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED || s == MAP_FAILED) {
        printf("NOHUGE mmap MAP_HUGETLB: %s\n", strerror(errno));
        return 0;
    }
    p[0] = 1;
    s[0] = 1;
    printf("HUGE %p %p 0x%lx\n", (void *)p, (void *)s, len);
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
