import Foundation
import Hummingbird
import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One header field (swift-http-types' `HTTPField`, as Hummingbird re-exports it).
private typealias HTTPField = HTTPFields.Element

/// Hummingbird's per-request context for ``HTTPServer``: the connection the request came on.
struct HTTPServerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        channel = source.channel
    }
}

extension HTTPServer {
    /// The server's one responder, for every method and path: turns Hummingbird's request into
    /// an ``HTTPRequest`` (its body collected in memory, or written to a file for the requests
    /// the ``SpoolPolicy`` names), asks the handler, and turns its ``HTTPResponse`` into
    /// Hummingbird's response.
    struct Responder: HTTPResponder {
        let server: HTTPServer

        func respond(to request: Request, context: HTTPServerContext) async throws -> Response {
            let target = HTTPTarget(request.head.path ?? "/")
            var headers = request.headers.map { (name: $0.name.rawName, value: $0.value) }
            if let authority = request.head.authority { headers.insert((name: "host", value: authority), at: 0) }
            var incoming = HTTPRequest(
                method: request.method.rawValue,
                path: target.path,
                query: target.query,
                headers: headers
            )
            incoming.remoteAddress = context.channel.remoteAddress.flatMap { address in
                address.ipAddress.map { "\($0):\(address.port ?? 0)" }
            }
            let declared = request.headers[.contentLength].flatMap { Int($0) }
            if let admit = server.admit, let refusal = await admit(incoming) {
                // The body (if any) is never read, so the connection cannot carry another request.
                let hasBody = (declared ?? 0) > 0 || request.headers[.transferEncoding] != nil
                return hasBody
                    ? closing(refusal, channel: context.channel) : await response(refusal, channel: context.channel)
            }
            let directory = server.spool(incoming.method, incoming.path)
            let limit = directory == nil ? server.maxMemoryBodyBytes : server.maxBodyBytes
            if let declared, declared > limit {
                return tooLarge(declared, limit: limit, channel: context.channel)
            }
            if let directory {
                let file = "\(directory)/upload-\(UUID().uuidString).part"
                switch try await spool(request.body, to: file) {
                case .stored:
                    incoming.bodyFile = file
                case .tooLarge(let received):
                    return tooLarge(received, limit: limit, channel: context.channel)
                case .cannotWrite(let error):
                    return await response(
                        .error(500, "cannot write the request body to \(file): \(error.reason)"),
                        channel: context.channel
                    )
                }
                let answer = await server.handler(incoming)
                // Still there unless the handler moved it away.
                unlink(file)
                return await response(answer, channel: context.channel)
            }
            var body = ByteBuffer()
            for try await part in request.body {
                guard body.readableBytes + part.readableBytes <= limit else {
                    return tooLarge(body.readableBytes + part.readableBytes, limit: limit, channel: context.channel)
                }
                body.writeImmutableBuffer(part)
            }
            incoming.body = Array(body.readableBytesView)
            return await response(await server.handler(incoming), channel: context.channel)
        }

        enum Spooled {
            case stored
            /// The body passed the limit after `received` bytes.
            case tooLarge(received: Int)
            case cannotWrite(HTTPFileBody.FileError)
        }

        /// Writes `body` to `file` as it arrives, up to the size limit; the file is removed
        /// unless the whole body is stored.
        /// - Throws: when the connection fails before the body's end.
        func spool(_ body: RequestBody, to file: String) async throws -> Spooled {
            let sink: HTTPFileBody.Sink
            do {
                sink = try await HTTPFileBody.Sink.create(file, exclusive: true)
            } catch {
                return .cannotWrite(error)
            }
            var stored = false
            defer { if !stored { unlink(file) } }
            var received = 0
            for try await part in body {
                received += part.readableBytes
                guard received <= server.maxBodyBytes else { return .tooLarge(received: received) }
                do {
                    try await sink.write(part)
                } catch {
                    return .cannotWrite(error)
                }
            }
            do {
                try await sink.finish()
            } catch {
                return .cannotWrite(error)
            }
            stored = true
            return .stored
        }

        /// A 413 answer after which the connection closes: the body it refuses is not read to
        /// its end, so the connection cannot carry another request. The server half-closes the
        /// connection after the answer and closes it 2 s later (the client has then read the
        /// answer, which a reset could otherwise discard); a client that stops sending at once,
        /// as AsyncHTTPClient does on an error answer, closes it first.
        func tooLarge(_ length: Int, limit: Int, channel: any Channel) -> Response {
            server.logger.warning("request body of \(length) bytes exceeds the limit of \(limit)")
            return closing(
                .error(413, "request body too large: \(length) bytes, the limit is \(limit)"),
                channel: channel
            )
        }

        /// `answer` (in memory), after which the server closes the connection as it does for
        /// ``tooLarge(_:limit:channel:)``.
        func closing(_ answer: HTTPResponse, channel: any Channel) -> Response {
            var headers = Self.fields(answer.headers)
            headers[.connection] = "close"
            let bytes = ByteBuffer(bytes: answer.body)
            return Response(
                status: .init(code: answer.status),
                headers: headers,
                body: ResponseBody(contentLength: bytes.readableBytes) { writer in
                    try await writer.write(bytes)
                    try await writer.finish(nil)
                    channel.close(mode: .output, promise: nil)
                    channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
                }
            )
        }

        /// Hummingbird's response for `answer`: a file body is read in chunks of
        /// ``HTTPFileBody/chunkSize`` as `channel` takes them (paced by its event loop, see
        /// ``HTTPFileBody/Chunks``).
        func response(_ answer: HTTPResponse, channel: any Channel) async -> Response {
            let status = (100...999).contains(answer.status) ? answer.status : 500
            let headers = Self.fields(answer.headers)
            guard let path = answer.bodyFile else {
                return Response(
                    status: .init(code: status),
                    headers: headers,
                    body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
                )
            }
            let source: HTTPFileBody.Source
            do {
                source = try await HTTPFileBody.Source.open(path)
            } catch {
                return await response(.error(500, "cannot read \(path): \(error.reason)"), channel: channel)
            }
            return Response(
                status: .init(code: status),
                headers: headers,
                body: ResponseBody(contentLength: source.size) { writer in
                    for try await chunk in source.chunks(pacedBy: [channel.eventLoop]) {
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                }
            )
        }

        /// A handler's headers as Hummingbird's fields; the framing headers (`content-length`,
        /// `transfer-encoding`) are the server's to set.
        static func fields(_ headers: [(name: String, value: String)]) -> HTTPFields {
            var fields = HTTPFields()
            for header in headers {
                guard let name = HTTPField.Name(header.name),
                    name != .contentLength, name != .transferEncoding
                else { continue }
                fields.append(HTTPField(name: name, value: header.value))
            }
            return fields
        }
    }
}

/// A request target (`/path?query`) taken apart: the path percent-decoded, the query as a
/// dictionary of names and values decoded as a form (`+` is a space, then percent-decoding, as
/// browsers' `URLSearchParams` write them; the last of a repeated name wins; a name without `=`
/// has the value "").
package struct HTTPTarget {
    package var path: String
    package var query: [String: String] = [:]

    package init(_ target: String) {
        let rawPath = target.prefix { $0 != "?" && $0 != "#" }
        path = rawPath.removingPercentEncoding ?? String(rawPath)
        guard let mark = target.firstIndex(of: "?") else { return }
        let rawQuery = target[target.index(after: mark)...].prefix { $0 != "#" }
        for item in rawQuery.split(separator: "&") {
            let name = item.prefix { $0 != "=" }
            let value = item.dropFirst(name.count + 1)
            func decoded(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            query[decoded(name)] = decoded(value)
        }
    }
}
