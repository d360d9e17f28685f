/* Linked with -z max-page-size=0x200000: glibc leaves ---p gap lines. */
#define SHAPE_NAME "gap"
#include "shape_lib.h"
