/* Runs libsymbols.so's symbols_touch() (see there), prints "BIAS path addr" for each
 * loaded object from dl_iterate_phdr (the loader's own load bias), "READY", and waits
 * for its stdin to close. tests/symbols.rs builds both and checks `elfmaps symbols`. */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <unistd.h>

void symbols_touch(void);

static int bias(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    printf("BIAS %s 0x%lx\n", info->dlpi_name[0] ? info->dlpi_name : "-",
           (unsigned long)info->dlpi_addr);
    return 0;
}

int main(void) {
    symbols_touch();
    dl_iterate_phdr(bias, NULL);
    printf("READY\n");
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
