/* Linked with -z noseparate-code: headers, text and rodata share one PT_LOAD. */
#define SHAPE_NAME "nosep"
#include "shape_lib.h"
