// librdkafka (>= 2.1; scripts/bootstrap builds 2.8.0 into /usr/local, found through pkg-config "rdkafka").
// Only GaleKafka/RDKafka and the C-library tests import this module.
#ifndef GALE_CRDKAFKA_SHIM_H
#define GALE_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>

#endif
