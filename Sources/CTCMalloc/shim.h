#pragma once
// gperftools tcmalloc (minimal): the allocator of every process that runs Gale executors.
#include <gperftools/malloc_extension_c.h>
