/* shapes writes this library into a memfd and dlopens /proc/self/fd/N. */
#define SHAPE_NAME "memfd"
#include "shape_lib.h"
