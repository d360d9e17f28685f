/* Linked with -z max-page-size=0x10000 -z separate-code: holes between its segments. */
#define LIB_NAME "gap"
#define LIB_BSS_SIZE (3 * 4096)
#define LIB_DATA_SIZE 64
#include "lib.h"
