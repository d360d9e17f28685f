/* 1 MiB of bss (an anonymous mapping after the data segment) and 3 pages of data. */
#define LIB_NAME "big"
#define LIB_BSS_SIZE (1024 * 1024)
#define LIB_DATA_SIZE (3 * 4096)
#include "lib.h"
