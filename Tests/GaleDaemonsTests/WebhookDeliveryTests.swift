import Foundation
import GaleCoordination
import Logging
import Synchronization
import Testing

@testable import GaleDaemons

/// The delivery service with a fake sender: order, retries with backoff, bounded attempts and
/// queues, and webhooks that never hold each other (or nimbus) up.
@Suite struct WebhookDeliveryTests {
    /// Records every attempt; answers from a script, or hangs until released.
    final class FakeSender: Sendable {
        struct Call: Sendable {
            var target: String
            var body: [UInt8]
            var at: ContinuousClock.Instant
        }
        let calls = Mutex<[Call]>([])
        let script: @Sendable (_ target: String, _ attempt: Int) -> WebhookDelivery.Outcome?
        private let hung = Mutex<[CheckedContinuation<Void, Never>]>([])

        /// `script` returns the outcome of a target's `attempt`-th call (1-based), or `nil` to hang.
        init(_ script: @escaping @Sendable (_ target: String, _ attempt: Int) -> WebhookDelivery.Outcome?) {
            self.script = script
        }

        var send: WebhookDelivery.Sender {
            { [self] target, body, _ in
                let attempt = calls.withLock { calls in
                    calls.append(Call(target: target.name, body: body, at: .now))
                    return calls.filter { $0.target == target.name }.count
                }
                if let outcome = script(target.name, attempt) { return outcome }
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in hung.withLock { $0.append(continuation) } }
                } onCancel: {
                    release()
                }
                return .retry("cancelled", after: nil)
            }
        }

        func release() {
            for continuation in hung.withLock({ h in
                defer { h.removeAll() }
                return h
            }) { continuation.resume() }
        }

        func messages(_ target: String) -> [String] {
            calls.withLock { $0.filter { $0.target == target } }.compactMap {
                (try? JSONDecoder().decode(NimbusEvent.self, from: Data($0.body)))?.message
            }
        }

        func count(_ target: String) -> Int { calls.withLock { $0.filter { $0.target == target }.count } }
    }

    static func target(_ name: String, events: [EventType]? = nil) throws -> WebhookTarget {
        try WebhookTarget(name: name, url: "http://127.0.0.1:9/\(name)", format: .json, events: events)
    }

    static func event(_ n: Int, type: EventType = .workerCrashLoop) -> NimbusEvent {
        NimbusEvent(event: type, key: "k\(n)", since: 0, time: Double(n), message: "event \(n)", url: "http://ui/")
    }

    static let logger = Logger(label: "webhook-test")

    /// Runs `delivery` in a task until `body` returns, then cancels it.
    static func running(_ delivery: WebhookDelivery, _ body: () async throws -> Void) async throws {
        let task = Task { try await delivery.run() }
        defer { task.cancel() }
        try await body()
        task.cancel()
        _ = await task.result
    }

    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw DeliveryTestFailure("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    struct DeliveryTestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func eventsArriveInOrderAndOnlyWhereTheFilterTakesThem() async throws {
        let sender = FakeSender { _, _ in .delivered }
        let delivery = WebhookDelivery(
            targets: [try Self.target("all"), try Self.target("notices", events: [.topologySubmitted])],
            settings: WebhookDeliverySettings(),
            logger: Self.logger,
            send: sender.send
        )
        try await Self.running(delivery) {
            delivery.enqueue([Self.event(1), Self.event(2, type: .topologySubmitted), Self.event(3)])
            delivery.enqueue([Self.event(4)])
            try await Self.waitUntil("four events are delivered") { delivery.counts(0).delivered == 4 }
            try await Self.waitUntil("one notice is delivered") { delivery.counts(1).delivered == 1 }
        }
        #expect(sender.messages("all") == ["event 1", "event 2", "event 3", "event 4"])
        #expect(sender.messages("notices") == ["event 2"])
        #expect(
            delivery.counts(0) == WebhookDelivery.Counts(delivered: 4, attempts: 4, failed: 0, overflowed: 0, queued: 0)
        )
    }

    @Test func aFailedAttemptIsRetriedAfterABackoffThatDoubles() async throws {
        // Two failures, then success.
        let sender = FakeSender { _, attempt in attempt <= 2 ? .retry("answered HTTP 503", after: nil) : .delivered }
        let settings = WebhookDeliverySettings(attempts: 5, backoff: .milliseconds(50), maxBackoff: .seconds(1))
        let delivery = WebhookDelivery(
            targets: [try Self.target("a")],
            settings: settings,
            logger: Self.logger,
            send: sender.send
        )
        try await Self.running(delivery) {
            delivery.enqueue([Self.event(1)])
            try await Self.waitUntil("it is delivered") { delivery.counts(0).delivered == 1 }
        }
        let times = sender.calls.withLock { $0.map(\.at) }
        #expect(times.count == 3)
        #expect(delivery.counts(0).attempts == 3 && delivery.counts(0).failed == 0)
        // Sleeps last at least as long as asked (never shorter; load may make them longer).
        #expect(times[1] - times[0] >= .milliseconds(50))
        #expect(times[2] - times[1] >= .milliseconds(100))
    }

    @Test func attemptsAreBoundedAndARejectionIsNotRetried() async throws {
        let sender = FakeSender { target, _ in
            target == "down" ? .retry("timed out after 10 s", after: nil) : .reject("answered HTTP 404")
        }
        let settings = WebhookDeliverySettings(attempts: 3, backoff: .milliseconds(1), maxBackoff: .milliseconds(4))
        let delivery = WebhookDelivery(
            targets: [try Self.target("down"), try Self.target("gone")],
            settings: settings,
            logger: Self.logger,
            send: sender.send
        )
        try await Self.running(delivery) {
            delivery.enqueue([Self.event(1), Self.event(2)])
            try await Self.waitUntil("both are given up on both webhooks") {
                delivery.counts(0).failed == 2 && delivery.counts(1).failed == 2
            }
        }
        #expect(sender.count("down") == 6, "3 attempts per event")
        #expect(sender.count("gone") == 2, "a 4xx is not retried")
        #expect(delivery.counts(0).delivered == 0 && delivery.counts(0).queued == 0)
    }

    @Test func aFullQueueDropsItsOldestEventsButNotTheOneInFlight() async throws {
        let sender = FakeSender { _, attempt in attempt == 1 ? nil : .delivered }
        let delivery = WebhookDelivery(
            targets: [try Self.target("slow")],
            settings: WebhookDeliverySettings(queueSize: 3),
            logger: Self.logger,
            send: sender.send
        )
        try await Self.running(delivery) {
            delivery.enqueue([Self.event(1)])
            try await Self.waitUntil("the first is in flight") { sender.count("slow") == 1 }
            // Enqueueing never waits, whatever the webhook does.
            delivery.enqueue((2...6).map { Self.event($0) })
            #expect(delivery.counts(0).overflowed == 3)
            #expect(delivery.counts(0).queued == 3)
            sender.release()
            try await Self.waitUntil("the rest is delivered") { delivery.counts(0).queued == 0 }
        }
        // Event 1 was in flight: released, it is tried again; 2, 3 and 4 were dropped.
        #expect(sender.messages("slow").filter { $0 != "event 1" } == ["event 5", "event 6"])
    }

    @Test func aHangingWebhookDoesNotHoldUpAnother() async throws {
        let sender = FakeSender { target, _ in target == "hangs" ? nil : .delivered }
        let delivery = WebhookDelivery(
            targets: [try Self.target("hangs"), try Self.target("fine")],
            settings: WebhookDeliverySettings(),
            logger: Self.logger,
            send: sender.send
        )
        try await Self.running(delivery) {
            delivery.enqueue([Self.event(1), Self.event(2)])
            try await Self.waitUntil("the other webhook has both") { delivery.counts(1).delivered == 2 }
            #expect(sender.count("hangs") == 1)
            #expect(delivery.counts(0).queued == 2, "still trying the first")
        }
        sender.release()
    }

    @Test func shutdownEndsTheServiceWhileARequestHangs() async throws {
        let sender = FakeSender { _, _ in nil }
        let delivery = WebhookDelivery(
            targets: [try Self.target("hangs")],
            settings: WebhookDeliverySettings(),
            logger: Self.logger,
            send: sender.send
        )
        let inFlight = PeriodicService(
            "test-stop",
            every: .milliseconds(5),
            until: { sender.count("hangs") > 0 ? .finish : .again }
        )
        delivery.enqueue([Self.event(1), Self.event(2)])
        // The stopping service ends the group (a graceful shutdown) once a request hangs; the run
        // returns only if the delivery gives up its hanging request.
        try await DaemonRunner(
            logger: Self.logger,
            executor: BlockingExecutor(label: "webhook-test"),
            maximumShutdown: .seconds(60)
        )
        .run([delivery, inFlight], signals: false)
        #expect(delivery.counts(0).delivered == 0)
        #expect(delivery.counts(0).queued == 0, "what was left is dropped (and logged)")
    }

    @Test func answersAndBackoffsMapAsDocumented() {
        #expect(WebhookDelivery.outcome(status: 200, retryAfter: nil) == .delivered)
        #expect(WebhookDelivery.outcome(status: 204, retryAfter: nil) == .delivered)
        #expect(WebhookDelivery.outcome(status: 500, retryAfter: nil) == .retry("answered HTTP 500", after: nil))
        #expect(
            WebhookDelivery.outcome(status: 503, retryAfter: "7") == .retry("answered HTTP 503", after: .seconds(7))
        )
        #expect(WebhookDelivery.outcome(status: 429, retryAfter: "soon") == .retry("answered HTTP 429", after: nil))
        #expect(WebhookDelivery.outcome(status: 408, retryAfter: nil) == .retry("answered HTTP 408", after: nil))
        #expect(WebhookDelivery.outcome(status: 404, retryAfter: nil) == .reject("answered HTTP 404"))
        #expect(
            WebhookDelivery.outcome(status: 301, retryAfter: nil)
                == .reject("answered HTTP 301 (redirects are not followed: give the final URL)")
        )
        let settings = WebhookDeliverySettings(backoff: .seconds(1), maxBackoff: .seconds(60))
        #expect((1...8).map { settings.delay(afterAttempt: $0) } == [1, 2, 4, 8, 16, 32, 60, 60].map { .seconds($0) })
    }
}
