/* shapes maps anonymous pages right after this library's bss: the kernel merges them. */
#define SHAPE_NAME "merge"
#include "shape_lib.h"
