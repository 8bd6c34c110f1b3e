import ArgumentParser
import Foundation
import GaleCoordination
import GaleDaemons

#if canImport(Glibc)
import Glibc
#endif

/// `gale logs TOPOLOGY`: the logs of a topology's workers, read through nimbus from the
/// supervisors that run them (``NimbusRoute/workerLog``).
struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the logs of a topology's workers (read through nimbus from their supervisors).",
        discussion: """
            Prints the end of each worker's log, every line prefixed with [HOST:PORT] of its worker. \
            --grep prints the lines of the whole log holding the text (at most 1,000 per worker) with \
            their byte offsets; --follow keeps printing new lines (with --grep, the new lines holding the \
            text) until interrupted.
            """
    )

    @Argument(help: "Topology name or id.") var name: String

    @Option(help: "Only this worker, HOST:PORT as `gale status` shows it (default: every worker of the topology).")
    var worker: String?

    @Flag(help: "Keep printing new lines as the workers write them, until interrupted.")
    var follow = false

    @Option(help: "Print only the lines holding this text.")
    var grep: String?

    @Option(
        parsing: .unconditional,
        help: "Bytes of the end of each log to print first (default 65536, at most 1048576)."
    )
    var bytes: Int = 65_536

    @OptionGroup var client: ClientOptions

    func validate() throws {
        if let worker, Endpoint(worker) == nil {
            throw ValidationError("--worker must be HOST:PORT of one of the topology's workers, got '\(worker)'")
        }
        if let grep, grep.isEmpty || grep.utf8.count > 1024 {
            throw ValidationError("--grep must be a text of 1 to 1024 bytes")
        }
        guard bytes > 0 else { throw ValidationError("--bytes must be positive") }
    }

    func run() async throws {
        var failures: [String] = []
        var followed: [String: Followed] = [:]
        let all = try await workers()
        for worker in all {
            do {
                if let grep, !follow {
                    let chunk = try await fetch(worker, ["grep": grep])
                    for match in chunk.matches ?? [] { print("[\(worker)] \(match.offset): \(match.line)") }
                    if (chunk.matches ?? []).count >= 1000 {
                        note("[\(worker)] more than 1,000 lines match: the first 1,000 shown")
                    }
                } else {
                    let chunk = try await fetch(worker, ["length": String(min(bytes, 1 << 20))])
                    var state = Followed(next: chunk.offset + chunk.length)
                    // A tail that starts mid-file starts mid-line: that fragment is left out.
                    emit(worker, chunk.text, skipFirst: chunk.offset > 0, into: &state)
                    followed[worker] = state
                }
            } catch {
                failures.append("\(worker): \(error)")
                note("[\(worker)] \(error)")
            }
        }
        guard follow else {
            if failures.count == all.count { throw CLIError(failures.joined(separator: "; ")) }
            return
        }
        var reported: Set<String> = []
        while true {
            fflush(nil)  // every stream: the lines printed so far reach a pipe now
            try await Task.sleep(for: .seconds(1))
            let current = (try? await workers()) ?? Array(followed.keys)
            for worker in current {
                do {
                    guard var state = followed[worker] else {
                        // A worker that appeared since (a rebalance): from its end.
                        let chunk = try await fetch(worker, ["length": "1"])
                        followed[worker] = Followed(next: chunk.size)
                        continue
                    }
                    var chunk = try await fetch(worker, ["offset": String(state.next), "length": String(1 << 20)])
                    if chunk.size < state.next {
                        note("[\(worker)] the log was truncated or rotated: reading it from its start")
                        state = Followed(next: 0)
                        chunk = try await fetch(worker, ["offset": "0", "length": String(1 << 20)])
                    }
                    state.next = chunk.offset + chunk.length
                    emit(worker, chunk.text, skipFirst: false, into: &state)
                    followed[worker] = state
                    reported.remove(worker)
                } catch {
                    if reported.insert(worker).inserted { note("[\(worker)] \(error)") }
                }
            }
        }
    }

    /// What `--follow` knows of one worker's log.
    struct Followed {
        /// The offset to read from next.
        var next: Int
        /// The last line read so far, without its end yet.
        var partial = ""
    }

    /// The workers to read: `--worker`, or every worker of the topology.
    func workers() async throws -> [String] {
        if let worker { return [worker] }
        let status = try await client.get(NimbusAPI.TopologyStatusResponse.self, NimbusRoute.topology.path(name))
        let workers = status.workers.map { "\($0.host):\($0.port)" }
        guard !workers.isEmpty else { throw CLIError("topology '\(name)' has no workers assigned") }
        return workers
    }

    func fetch(_ worker: String, _ query: [String: String]) async throws -> NimbusAPI.LogChunk {
        let allowed = CharacterSet(
            charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        )
        let items = query.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }
        let path = NimbusRoute.workerLog.path(name, worker) + "?" + items.joined(separator: "&")
        return try client.decode(NimbusAPI.LogChunk.self, try await client.call("GET", path))
    }

    /// Prints the whole lines of `text` (after `state`'s partial line), keeping its last,
    /// unfinished line for later; with `--grep` only the lines holding the text.
    func emit(_ worker: String, _ text: String, skipFirst: Bool, into state: inout Followed) {
        var lines = (state.partial + text).split(separator: "\n", omittingEmptySubsequences: false)
        state.partial = String(lines.removeLast())
        if skipFirst && !lines.isEmpty { lines.removeFirst() }
        for line in lines where grep.map({ line.contains($0) }) ?? true { print("[\(worker)] \(line)") }
        if !follow, !state.partial.isEmpty, grep.map({ state.partial.contains($0) }) ?? true {
            print("[\(worker)] \(state.partial)")
        }
    }

    func note(_ message: String) {
        FileHandle.standardError.write(Data((message + "\n").utf8))
    }
}
