/* libmapped: the library that testdata/mapped/mapped.c loads (dlopen and dlmopen)
 * and maps as data. Built a second time with -DMAPPED_BIG_BSS as libunloaded.so,
 * which is only mapped as data, never loaded: its bss of 16 MiB gives a phantom
 * instance a span that would cover the memory placed after it. */
#include <stddef.h>

/* 64 KiB of read-only data: the pages a symbolizer maps lie in its PT_LOAD. */
const unsigned char mapped_table[64 * 1024] = {1, 2, 3};

#ifdef MAPPED_BIG_BSS
static char big_bss[16 << 20];
#else
static char big_bss[4 * 4096];
#endif

int mapped_touch(size_t i)
{
	big_bss[i % sizeof big_bss] = 1;
	return mapped_table[i % sizeof mapped_table] + big_bss[0];
}
