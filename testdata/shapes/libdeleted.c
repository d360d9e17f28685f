/* shapes copies this library to a temporary directory, dlopens it, unlinks it. */
#define SHAPE_NAME "deleted"
#include "shape_lib.h"
