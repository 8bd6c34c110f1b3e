/// GaleCoordination is the cluster protocol shared by nimbus, supervisors, workers and the CLI:
/// ZooKeeper's layout and records (`Cluster/`), the HTTP client and server (`HTTP/`), SHA-256
/// digests and process-wide logging (`Support/`). It is built on GaleZooKeeper (the ZooKeeper
/// client and election, the only code that touches the C client), which it re-exports: the
/// records are read and written through that client everywhere they are used.
@_exported public import GaleZooKeeper
