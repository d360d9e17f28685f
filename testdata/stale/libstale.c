/* libstale: the library of the stale program (see README.md). */
#define BODY(name) lib_##name
#include "body.h"

int stale_lib_touch(void);

int stale_lib_touch(void)
{
	return lib_touch();
}
