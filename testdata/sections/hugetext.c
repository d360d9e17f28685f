/* Remaps part of its own text as programs do to put hot code on huge pages (Intel's
 * iodlr, HHVM, Chrome's hugepage_text), in the way argv[1] names:
 *   anon     copy the 2 MiB-aligned part, mmap MAP_ANONYMOUS|MAP_FIXED over it,
 *            madvise(MADV_HUGEPAGE), copy back, mprotect r-x (iodlr);
 *   memfd    the copy written to a memfd, mapped r-x MAP_SHARED|MAP_FIXED over it;
 *   hugetlb  the copy in MAP_HUGETLB memory made r-x and moved over it with mremap
 *            (`/anon_hugepage (deleted)` in maps);
 *   data     anonymous memory over it as in `anon`, filled with data (not the text)
 *            and made r-x: not the program's text (issue 18 §2);
 *   rw       the text copied back as in `anon`, but left rw-: writable memory is not
 *            text either.
 * The remapped range is the 2 MiB-aligned part of a 6 MiB filler in .text (the code
 * that remaps runs outside it). Prints "TEXT start end" (the executable PT_LOAD of the
 * program, from dl_iterate_phdr), "REMAP mode start end" (hex), "READY", and waits for
 * its stdin to close; prints "NOHUGE reason" when the mode cannot be done here.
 * tests/hugetext.rs builds it and checks elfmaps' labels against these lines. */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE (2UL << 20)

/* 6 MiB of `ret`s in .text, between two symbols. */
__asm__(".text\n.globl filler_start\nfiller_start:\n.fill 6*1024*1024, 1, 0xc3\n"
        ".globl filler_end\nfiller_end:\n");
extern char filler_start[], filler_end[];

static unsigned long text_start, text_end;

static int find_text(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size;
    (void)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        unsigned long a = info->dlpi_addr + p->p_vaddr;
        if (p->p_type == PT_LOAD && (p->p_flags & PF_X) && a <= (unsigned long)filler_start &&
            (unsigned long)filler_start < a + p->p_memsz) {
            text_start = a;
            text_end = a + p->p_memsz;
            return 1;
        }
    }
    return 0;
}

static void fail(const char *what) {
    printf("NOHUGE %s: %s\n", what, strerror(errno));
    exit(0);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "anon";
    dl_iterate_phdr(find_text, NULL);
    unsigned long a = ((unsigned long)filler_start + HUGE - 1) & ~(HUGE - 1);
    unsigned long b = (unsigned long)filler_end & ~(HUGE - 1);
    size_t len = b - a;
    char *copy = malloc(len);
    if (!copy)
        fail("malloc");
    memcpy(copy, (void *)a, len);
    if (strcmp(mode, "data") == 0 || strcmp(mode, "rw") == 0) {
        void *m = mmap((void *)a, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (m == MAP_FAILED)
            fail("mmap");
        madvise(m, len, MADV_HUGEPAGE);
        if (mode[0] == 'd') {
            memset(m, 0x5a, len);
            if (mprotect(m, len, PROT_READ | PROT_EXEC))
                fail("mprotect");
        } else {
            memcpy(m, copy, len);
        }
        free(copy);
        printf("TEXT 0x%lx 0x%lx\nREMAP %s 0x%lx 0x%lx\nREADY\n", text_start, text_end, mode, a,
               b);
        fflush(stdout);
        char buf[16];
        while (read(0, buf, sizeof buf) > 0) {
        }
        return 0;
    }
    if (strcmp(mode, "anon") == 0) {
        void *m = mmap((void *)a, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (m == MAP_FAILED)
            fail("mmap");
        madvise(m, len, MADV_HUGEPAGE);
        memcpy(m, copy, len);
        if (mprotect(m, len, PROT_READ | PROT_EXEC))
            fail("mprotect");
    } else if (strcmp(mode, "memfd") == 0) {
        int fd = memfd_create("hugetext", 0);
        if (fd < 0 || write(fd, copy, len) != (ssize_t)len)
            fail("memfd");
        if (mmap((void *)a, len, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_FIXED, fd, 0) ==
            MAP_FAILED)
            fail("mmap memfd");
    } else {
        void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
        if (m == MAP_FAILED)
            fail("mmap MAP_HUGETLB");
        memcpy(m, copy, len);
        if (mprotect(m, len, PROT_READ | PROT_EXEC))
            fail("mprotect");
        if (mremap(m, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)a) == MAP_FAILED)
            fail("mremap");
    }
    free(copy);
    /* Run the remapped code: every page is a `ret`. */
    for (unsigned long p = a; p < b; p += 4096)
        ((void (*)(void))p)();
    printf("TEXT 0x%lx 0x%lx\nREMAP %s 0x%lx 0x%lx\nREADY\n", text_start, text_end, mode, a, b);
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
