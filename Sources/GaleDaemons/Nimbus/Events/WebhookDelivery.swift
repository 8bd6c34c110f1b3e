import Foundation
public import GaleCoordination
public import Logging
public import ServiceLifecycle
import Synchronization

/// How the ``WebhookDelivery`` sends (the `nimbus.webhook.*` keys).
public struct WebhookDeliverySettings: Sendable, Equatable {
    /// The deadline of one request, connecting included.
    public var timeout: Duration
    /// Attempts per event before it is dropped.
    public var attempts: Int
    /// Events waiting per webhook; beyond it the oldest is dropped.
    public var queueSize: Int
    /// The wait after the first failed attempt; it doubles after each further one.
    public var backoff: Duration
    /// The longest wait between attempts (a `Retry-After` answer's too).
    public var maxBackoff: Duration

    public init(
        timeout: Duration = .seconds(10),
        attempts: Int = 5,
        queueSize: Int = 1000,
        backoff: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(60)
    ) {
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.queueSize = max(1, queueSize)
        self.backoff = backoff
        self.maxBackoff = maxBackoff
    }

    /// The wait after failed attempt `n` (1, 2, ...): ``backoff`` doubled `n - 1` times, at most
    /// ``maxBackoff``.
    public func delay(afterAttempt n: Int) -> Duration {
        var delay = backoff
        for _ in 1..<max(1, n) {
            delay *= 2
            if delay >= maxBackoff { return maxBackoff }
        }
        return min(delay, maxBackoff)
    }
}

/// Posts events to the webhooks, each from a queue of its own, so that nimbus never waits for
/// one: ``enqueue(_:)`` only appends under a lock, and the service (`webhooks` in nimbus's
/// service group) sends from each queue in order, one request at a time per webhook, with the
/// HTTP client's deadline. A failed request (no answer, a timeout, 408, 429 or 5xx) is tried
/// again after a backoff, up to ``WebhookDeliverySettings/attempts`` times; another answer (a 4xx,
/// a redirect) drops the event at once. A full queue drops its oldest event. Every drop is
/// counted and logged, naming the webhook by name and redacted URL only.
public final class WebhookDelivery: Service, Sendable, CustomStringConvertible {
    /// The result of one attempt.
    public enum Outcome: Sendable, Equatable {
        case delivered
        /// Worth another attempt (after `after`, when the server said so).
        case retry(String, after: Duration?)
        /// Not worth another attempt.
        case reject(String)
    }

    /// Sends one body to one webhook with a deadline.
    public typealias Sender = @Sendable (_ target: WebhookTarget, _ body: [UInt8], _ timeout: Duration) async -> Outcome

    /// What happened to one webhook's events so far.
    public struct Counts: Sendable, Equatable {
        public var delivered = 0
        /// Requests sent (first attempts and retries).
        public var attempts = 0
        /// Events dropped after their last attempt, or at once on a rejecting answer.
        public var failed = 0
        /// Events dropped because the queue was full.
        public var overflowed = 0
        /// Events waiting now (the one being sent included).
        public var queued = 0
    }

    public let description = "webhooks"
    public let targets: [WebhookTarget]
    public let settings: WebhookDeliverySettings
    let logger: Logger
    let send: Sender
    private let lanes: [Lane]

    final class Lane: Sendable {
        struct State {
            var queue: [NimbusEvent] = []
            var sending = false
            var counts = Counts()
        }
        let state = Mutex(State())
        let wake = WakeSignal()
    }

    public init(
        targets: [WebhookTarget],
        settings: WebhookDeliverySettings,
        logger: Logger,
        send: Sender? = nil
    ) {
        self.targets = targets
        self.settings = settings
        self.logger = logger
        self.send = send ?? WebhookDelivery.post
        self.lanes = targets.map { _ in Lane() }
    }

    /// Queues each event for every webhook whose filter takes it; never waits.
    public func enqueue(_ events: [NimbusEvent]) {
        for (index, target) in targets.enumerated() {
            let accepted = events.filter(target.accepts)
            guard !accepted.isEmpty else { continue }
            let lane = lanes[index]
            let dropped = lane.state.withLock { s -> [NimbusEvent] in
                s.queue += accepted
                let excess = s.queue.count - settings.queueSize
                guard excess > 0 else { return [] }
                // The event being sent stays at the head.
                let from = s.sending ? 1 : 0
                let dropped = Array(s.queue[from..<from + excess])
                s.queue.removeSubrange(from..<from + excess)
                s.counts.overflowed += dropped.count
                return dropped
            }
            for event in dropped {
                logger.warning(
                    "webhook \(target.name) (\(target.redacted)): queue full (\(settings.queueSize) events), dropped \(event.event.rawValue) \(event.state.rawValue) \(event.key)"
                )
            }
            lane.wake.wake()
        }
    }

    /// The counts of the webhook at `index` of ``targets``.
    public func counts(_ index: Int) -> Counts {
        lanes[index].state.withLock { s in
            var counts = s.counts
            counts.queued = s.queue.count
            return counts
        }
    }

    /// Sends until graceful shutdown; a request in flight then is cancelled, and what is still
    /// queued is dropped (and logged).
    public func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for index in targets.indices {
                group.addTask { await self.drain(index) }
            }
        }
    }

    private func drain(_ index: Int) async {
        let target = targets[index]
        let lane = lanes[index]
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let next = lane.state.withLock { s -> NimbusEvent? in
                s.sending = !s.queue.isEmpty
                return s.queue.first
            }
            guard let event = next else {
                await withGracefulShutdownHandler {
                    await lane.wake.wait(upTo: .seconds(5))
                } onGracefulShutdown: {
                    lane.wake.wake()
                }
                continue
            }
            await deliver(event, to: target, lane: lane)
            lane.state.withLock { s in
                if !s.queue.isEmpty { s.queue.removeFirst() }
                s.sending = false
            }
        }
        let left = lane.state.withLock { s in
            defer { s.queue.removeAll() }
            return s.queue.count
        }
        if left > 0 {
            logger.warning("webhook \(target.name) (\(target.redacted)): \(left) event(s) not sent before shutdown")
        }
    }

    /// Tries `event` until it is delivered, rejected, out of attempts, or the service stops.
    private func deliver(_ event: NimbusEvent, to target: WebhookTarget, lane: Lane) async {
        let body = WebhookPayload.body(event, format: target.format)
        let what = "\(event.event.rawValue) \(event.state.rawValue) \(event.key)"
        for attempt in 1...settings.attempts {
            lane.state.withLock { $0.counts.attempts += 1 }
            // Graceful shutdown cancels a request in flight.
            let outcome = await cancelWhenGracefulShutdown { [send, settings] in
                await send(target, body, settings.timeout)
            }
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            switch outcome {
            case .delivered:
                lane.state.withLock { $0.counts.delivered += 1 }
                logger.debug("webhook \(target.name) (\(target.redacted)): sent \(what)")
                return
            case .reject(let reason):
                lane.state.withLock { $0.counts.failed += 1 }
                logger.error("webhook \(target.name) (\(target.redacted)): \(reason); dropped \(what), not retried")
                return
            case .retry(let reason, let after):
                guard attempt < settings.attempts else {
                    lane.state.withLock { $0.counts.failed += 1 }
                    logger.error(
                        "webhook \(target.name) (\(target.redacted)): \(reason); dropped \(what) after \(attempt) attempts"
                    )
                    return
                }
                let delay = min(max(after ?? .zero, settings.delay(afterAttempt: attempt)), settings.maxBackoff)
                logger.warning(
                    "webhook \(target.name) (\(target.redacted)): attempt \(attempt) of \(settings.attempts) failed: \(reason); next in \(delay)"
                )
                do {
                    try await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
                } catch {
                    return
                }
            }
        }
    }

    /// POSTs `body` to `target` (the default ``Sender``).
    static func post(_ target: WebhookTarget, _ body: [UInt8], _ timeout: Duration) async -> Outcome {
        let client = HTTPClient(timeout: timeout, tls: target.tls)
        let response: HTTPResponse
        do {
            response = try await client.send(
                "POST",
                address: target.address,
                path: target.path,
                body: body,
                headers: [
                    (name: "content-type", value: "application/json"), (name: "user-agent", value: "gale-nimbus"),
                ]
            )
        } catch {
            return .retry("\(error)", after: nil)
        }
        return outcome(
            status: response.status,
            retryAfter: response.headers.first { $0.name.lowercased() == "retry-after" }?.value
        )
    }

    /// What an answer with `status` means for the event.
    static func outcome(status: Int, retryAfter: String?) -> Outcome {
        switch status {
        case 200..<300:
            return .delivered
        case 408, 429, 500...:
            let after = retryAfter.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }.flatMap {
                $0.isFinite && $0 >= 0 ? Duration.milliseconds(Int64($0 * 1000)) : nil
            }
            return .retry("answered HTTP \(status)", after: after)
        case 300..<400:
            return .reject("answered HTTP \(status) (redirects are not followed: give the final URL)")
        default:
            return .reject("answered HTTP \(status)")
        }
    }
}
