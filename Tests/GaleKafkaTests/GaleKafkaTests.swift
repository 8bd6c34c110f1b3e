// Unit tests of GaleKafka that need no broker. Tests against the broker live in IntegrationTests.
import GaleTestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A loopback port nothing listens on (``TestPorts``: outside the kernel's ephemeral range, so
/// no other socket takes it by chance).
func closedLoopbackPort() -> Int { TestPorts.next() }
