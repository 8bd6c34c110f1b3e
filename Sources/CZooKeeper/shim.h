// The multi-threaded ZooKeeper C client (Debian's libzookeeper-mt-dev; it ships no pkg-config file).
// THREADED selects the API of libzookeeper_mt: the library runs its own I/O and completion threads,
// and the synchronous zoo_* calls are available.
// Only GaleCoordination/ZooKeeper and the C-library tests import this module.
#ifndef GALE_CZOOKEEPER_SHIM_H
#define GALE_CZOOKEEPER_SHIM_H

#ifndef THREADED
#define THREADED
#endif

#include <zookeeper/zookeeper.h>

#endif
