import Foundation
import GaleCoordination
import Logging
import Synchronization

extension Nimbus {
    /// The caller of `request` when it may call `route` (a request for no route needs no
    /// credentials: it gets 404 or 405); else the 401 or 403 answer. Each refusal is an audit
    /// log line; an address whose credentials keep failing waits longer for each answer
    /// (``AuthThrottle``).
    func authorize(_ request: HTTPRequest, route: NimbusRoute?) async -> Authorization {
        let from = request.remoteAddress ?? "?"
        let access = route?.access ?? .open
        switch options.authenticator.authenticate(authorization: request.header("authorization")) {
        case .success(let principal):
            guard access.permits(principal) else {
                audit.warning(
                    "denied \(principal) \(request.method) \(request.path) from \(from): needs \(access.callers)"
                )
                return .refused(
                    .error(
                        403,
                        "\(principal) may not call \(request.method) \(route?.pattern ?? request.path): it needs \(access.callers)"
                    )
                )
            }
            if access != .open { throttle.succeeded(Self.host(of: from)) }
            return .allowed(principal)
        case .failure(let failure):
            if access == .open { return .allowed(.anonymous) }
            // A guessed token counts; a missing one (a browser, a forgotten GALE_TOKEN) does not.
            let delay = failure == .missing ? .zero : throttle.failed(Self.host(of: from))
            let slowed = delay > .zero ? "; answering after \(delay) (repeated failures)" : ""
            audit.warning("refused \(request.method) \(request.path) from \(from): \(failure)\(slowed)")
            if delay > .zero { try? await Task.sleep(for: delay) }
            return .refused(
                HTTPResponse.error(401, "\(failure)").adding(header: "www-authenticate", value: "Bearer realm=\"gale\"")
            )
        }
    }

    /// The server's check before it reads a request's body: the 401 or 403 that refuses the
    /// caller, or `nil`.
    func admission(_ request: HTTPRequest) async -> HTTPResponse? {
        let parts = request.segments
        let route = NimbusRoute.all.first { $0.match(method: request.method, parts: parts) != nil }
        guard case .refused(let refusal) = await authorize(request, route: route) else { return nil }
        count { $0.apiErrors += 1 }
        return refusal
    }

    /// The host of a `host:port` peer address: the throttle counts per host, whatever port
    /// each connection comes from.
    static func host(of address: String) -> String {
        guard let colon = address.lastIndex(of: ":") else { return address }
        return String(address[..<colon])
    }

    /// A submitter manages only the topologies it submitted; an admin (and an open cluster's
    /// anonymous caller) any.
    func checkOwner(of name: String, _ principal: Principal, _ request: HTTPRequest) throws(NimbusAPIError) {
        guard case .user(let user, .submitter) = principal else { return }
        let record = try topology(named: name)
        guard record.owner != user else { return }
        audit.warning(
            "denied \(principal) \(request.method) \(request.path) from \(request.remoteAddress ?? "?"): topology '\(name)' belongs to \(record.owner ?? "no one")"
        )
        throw .forbidden("\(principal) may not change topology '\(name)': a submitter manages only its own topologies")
    }
}

/// The outcome of ``Nimbus/authorize(_:route:)``.
enum Authorization {
    case allowed(Principal)
    case refused(HTTPResponse)
}

/// Slows down hosts whose credentials keep failing: from the 5th wrong token in a row an
/// answer waits 100 ms, doubling with each further failure up to 5 s. A success resets the
/// host; a host quiet for 10 minutes starts again. At most 10,000 addresses are
/// remembered (the oldest are forgotten first).
package final class AuthThrottle: Sendable {
    private struct Entry {
        var failures: Int
        var last: ContinuousClock.Instant
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Records a failure; returns how long to wait before answering.
    package init() {}

    package func failed(_ address: String, now: ContinuousClock.Instant = .now) -> Duration {
        let failures = entries.withLock { all in
            var entry = all[address] ?? Entry(failures: 0, last: now)
            if now - entry.last > .seconds(600) { entry.failures = 0 }
            entry.failures += 1
            entry.last = now
            all[address] = entry
            if all.count > 10_000 {
                for (key, _) in all.sorted(by: { $0.value.last < $1.value.last }).prefix(all.count - 10_000) {
                    all[key] = nil
                }
            }
            return entry.failures
        }
        return Self.delay(afterFailures: failures)
    }

    package func succeeded(_ address: String) {
        entries.withLock { _ = $0.removeValue(forKey: address) }
    }

    static func delay(afterFailures failures: Int) -> Duration {
        guard failures >= 5 else { return .zero }
        return min(.milliseconds(100 << min(failures - 5, 6)), .seconds(5))
    }
}
