import Testing

@Test func coordinationBuilds() {}
