/* 3 MiB of bss, several pages of initialised data, a relro table. */
#define SHAPE_NAME "bigbss"
#define SHAPE_BSS_SIZE (3 << 20)
#define SHAPE_DATA_SIZE (3 * 4096 + 100)
#include "shape_lib.h"
