import Testing

@testable import GaleKafka

@Suite struct RetryPolicyTests {
    @Test func delaysGrowExponentiallyUpToTheMaximum() {
        let policy = RetryPolicy(initialDelay: .milliseconds(100), multiplier: 3, maxDelay: .seconds(2), maxRetries: 6)
        #expect(
            policy.schedule == [
                .milliseconds(100), .milliseconds(300), .milliseconds(900), .seconds(2), .seconds(2), .seconds(2),
            ]
        )
        #expect(policy.delay(beforeRetry: 0) == nil)
        #expect(policy.delay(beforeRetry: 7) == nil)
    }

    @Test func aConstantPolicyAndANoRetryPolicy() {
        let constant = RetryPolicy(initialDelay: .seconds(1), multiplier: 1, maxDelay: .seconds(10), maxRetries: 3)
        #expect(constant.schedule == [.seconds(1), .seconds(1), .seconds(1)])
        #expect(RetryPolicy.noRetries.schedule.isEmpty)
        #expect(RetryPolicy.noRetries.delay(beforeRetry: 1) == nil)
    }

    @Test func aHugeRetryCountDoesNotOverflow() {
        let policy = RetryPolicy(initialDelay: .seconds(1), multiplier: 10, maxDelay: .seconds(30), maxRetries: 10_000)
        #expect(policy.delay(beforeRetry: 10_000) == .seconds(30))
    }
}
