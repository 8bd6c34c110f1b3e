internal import CRdKafka
import Logging
import Synchronization

/// State the client-wide librdkafka callbacks (log, error) reach through the conf opaque.
///
/// Ownership: ``RDKafkaClient`` holds the only strong reference and hands librdkafka an
/// *unretained* pointer as the conf opaque. The client destroys its `rd_kafka_t` in its
/// `deinit`, before its stored properties (this object among them) are released, so no callback
/// can run on a freed object.
final class RDKafkaClientCallbacks: Sendable {
    /// A client-level error librdkafka reported through `error_cb`.
    struct ClientError: Sendable {
        var code: Int32
        var reason: String
        var at: ContinuousClock.Instant
    }

    let logger: Logger
    /// `bootstrap.servers`, for error messages.
    let servers: String
    private let lastTransportError = Mutex<ClientError?>(nil)
    /// Delivery reports of records produced with a token (``KafkaProducer/produce(_:token:)``),
    /// collected on the poll thread until taken.
    let tokenReports = Mutex<[KafkaProducer.DeliveryReport]>([])

    init(logger: Logger, servers: String) {
        self.logger = logger
        self.servers = servers
    }

    /// `error`, with the cause named when it is a timeout and the client failed to reach a
    /// broker during the operation (`window`, its timeout, plus librdkafka's longest reconnect
    /// backoff, 10 s by default, since the last refused connection may precede the operation):
    /// the code becomes ``KafkaError/Code/brokerUnreachable``.
    func explained(_ error: KafkaError, window: Duration) -> KafkaError {
        guard error.code == .timedOut || error.code == .brokerUnreachable else { return error }
        guard let cause = recentTransportError(within: window + .seconds(10)) else {
            // A transport failure the call itself returned, before any error event was served (a
            // consumer's are served only by its polls): name the brokers all the same.
            guard error.code == .brokerUnreachable else { return error }
            var named = error
            named.message += "; broker unreachable (\(servers))"
            return named
        }
        var explained = error
        explained.code = .brokerUnreachable
        explained.isRetriable = true
        explained.message += "; broker unreachable (\(servers)): \(cause.reason)"
        return explained
    }

    /// The newest "broker unreachable" error (connection refused, resolve failure, all brokers
    /// down) reported within `window`, if any.
    func recentTransportError(within window: Duration) -> ClientError? {
        lastTransportError.withLock { error in
            guard let error, ContinuousClock.now - error.at <= window else { return nil }
            return error
        }
    }

    /// Records and logs an error from `error_cb`.
    func report(code: Int32, reason: String) {
        let kind = KafkaError.Code(rdKafkaCode: code)
        if kind == .brokerUnreachable {
            lastTransportError.withLock { $0 = ClientError(code: code, reason: reason, at: .now) }
        }
        logger.warning(
            "librdkafka client error",
            metadata: ["kafka.error": "\(KafkaError.rdKafkaName(of: code))", "kafka.reason": "\(reason)"]
        )
    }

    /// Logs a line from `log_cb` at the swift-log level matching its syslog level.
    func log(level: Int32, facility: String, message: String) {
        let swiftLevel: Logger.Level =
            switch level {
            // Errors also reach error_cb, which logs them as warnings: the log line is detail.
            case ...4: .info
            case 5, 6: .debug
            default: .trace
            }
        logger.log(level: swiftLevel, "\(message)", metadata: ["kafka.facility": "\(facility)"])
    }

    /// Installs the log and error callbacks on `conf`, with an unretained pointer to `self` as
    /// its opaque (see the ownership note on the type).
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { handle, level, facility, message in
            guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
            let callbacks = Unmanaged<RDKafkaClientCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.log(
                level: level,
                facility: facility.map { String(cString: $0) } ?? "",
                message: message.map { String(cString: $0) } ?? ""
            )
        }
        rd_kafka_conf_set_error_cb(conf) { handle, code, reason, opaque in
            guard let opaque else { return }
            let callbacks = Unmanaged<RDKafkaClientCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            var code = code
            var text = reason.map { String(cString: $0) } ?? ""
            if code == RD_KAFKA_RESP_ERR__FATAL.rawValue, let handle {
                var buffer = [CChar](repeating: 0, count: 512)
                code = rd_kafka_fatal_error(handle, &buffer, buffer.count).rawValue
                text = "fatal: " + RDKafkaConfiguration.string(fromCBuffer: buffer)
            }
            callbacks.report(code: code, reason: text)
        }
    }
}
