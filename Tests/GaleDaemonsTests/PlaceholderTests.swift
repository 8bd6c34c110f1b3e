import Testing

@Test func daemonsBuild() {}
