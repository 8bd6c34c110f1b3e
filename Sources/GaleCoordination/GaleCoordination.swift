// GaleCoordination: ZooKeeper client, cluster state layout, HTTP client and server.
