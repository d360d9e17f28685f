/* Sections with known contents, for `elfmaps sections` (tests/sections.rs):
 *   hot_text, cold_text  functions in named, page-aligned text sections (orphan names,
 *                        so the linker keeps them as sections of their own: `.text.hot`
 *                        would be merged into .text by the default script);
 *   ro_tables            a 64-page read-only table in a section of its own, and a
 *                        32-page table in .rodata;
 *   .bss                 a 64-page zeroed array.
 * It drops its pages of the tables and cold_text from its page tables
 * (MADV_DONTNEED), then touches a known subset: pages 0 and 40 of ro_table, page 3 of
 * the .rodata table, hot_f, and pages 1, 2 and 50 of the .bss array; fault-around may
 * map neighbours of a touched file page too, so tests compare with pagemap. With the
 * argument "other" it touches another subset (see main), for `sections --union`.
 * Prints "SECTION name start end" (hex) for each named section, "TOUCHED addr" per
 * touched page, "READY", and waits for its stdin to close. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096

__attribute__((section("hot_text"), aligned(PAGE), noinline)) int hot_f(int x) {
    return x * 3 + 1;
}
__attribute__((section("hot_text"), noinline)) int hot_g(int x) { return x ^ 0x55; }
__attribute__((section("cold_text"), aligned(PAGE), noinline)) int cold_f(int x) {
    return x - 7;
}
/* Eight pages of code in cold_text. */
__asm__(".section cold_text,\"ax\",@progbits\n.fill 8*4096,1,0xc3\n.previous\n");

__attribute__((section("ro_tables"), aligned(65536), used))
const unsigned char ro_table[64 * PAGE] = {1, 2, 3};
__attribute__((aligned(PAGE), used)) const unsigned char rodata_table[32 * PAGE] = {9, 8, 7};
__attribute__((aligned(PAGE))) unsigned char bss_array[64 * PAGE];

extern char __start_hot_text[], __stop_hot_text[], __start_cold_text[], __stop_cold_text[];
extern char __start_ro_tables[], __stop_ro_tables[];

static void drop(const void *p, size_t len) {
    unsigned long a = (unsigned long)p & ~(unsigned long)(PAGE - 1);
    madvise((void *)a, len + ((unsigned long)p - a), MADV_DONTNEED);
}

static volatile unsigned sink;

static void touch(const volatile unsigned char *p) {
    sink += *p;
    printf("TOUCHED 0x%lx\n", (unsigned long)p & ~(unsigned long)(PAGE - 1));
}

int main(int argc, char **argv) {
    /* "other": another subset (for sections --union): pages 0 and 20 of ro_table,
     * page 9 of the .rodata table, pages 3 and 50 of the .bss array. */
    int other = argc > 1 && strcmp(argv[1], "other") == 0;
    drop(ro_table, sizeof ro_table);
    drop(rodata_table, sizeof rodata_table);
    drop(__start_cold_text, __stop_cold_text - __start_cold_text);
    touch(&ro_table[0]);
    touch(&ro_table[(other ? 20 : 40) * PAGE]);
    touch(&rodata_table[(other ? 9 : 3) * PAGE]);
    sink += hot_f(2) + hot_g(3);
    touch((const unsigned char *)hot_f);
    if (other) {
        bss_array[3 * PAGE] = 1;
        bss_array[50 * PAGE] = 1;
        touch(&bss_array[3 * PAGE]);
        touch(&bss_array[50 * PAGE]);
    } else {
        bss_array[1 * PAGE] = 1;
        bss_array[2 * PAGE] = 1;
        bss_array[50 * PAGE] = 1;
        touch(&bss_array[1 * PAGE]);
        touch(&bss_array[2 * PAGE]);
        touch(&bss_array[50 * PAGE]);
    }
    printf("SECTION hot_text 0x%lx 0x%lx\n", (unsigned long)__start_hot_text,
           (unsigned long)__stop_hot_text);
    printf("SECTION cold_text 0x%lx 0x%lx\n", (unsigned long)__start_cold_text,
           (unsigned long)__stop_cold_text);
    printf("SECTION ro_tables 0x%lx 0x%lx\n", (unsigned long)__start_ro_tables,
           (unsigned long)__stop_ro_tables);
    printf("READY\n");
    fflush(stdout);
    char buf[16];
    while (read(0, buf, sizeof buf) > 0) {
    }
    return 0;
}
