import ArgumentParser
import Foundation
import Gale
import GaleCoordination
import GaleDaemons

// MARK: - set-log-level

struct SetLogLevel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-log-level",
        abstract: "Change the log level of a running topology's workers, for a time or until changed.",
        discussion: """
            LEVEL is trace, debug, info, notice, warning, error or critical, or reset (the loggers' own \
            level again). Without --component every logger of the topology's workers logs at LEVEL; with it, \
            the loggers of that component: those its code logs through (on its tasks' threads) and those \
            labelled with its id (C or C.anything). A component's level wins over the topology's. With --for \
            the change reverts after that many seconds. Workers apply it within about a second.
            """
    )

    @Argument(help: "Topology name or id.") var name: String
    @Argument(help: "trace, debug, info, notice, warning, error, critical, or reset.") var level: String
    @Option(help: "Only the loggers of this component.") var component: String?
    @Option(
        name: .customLong("for"),
        parsing: .unconditional,
        help: ArgumentHelp("Revert after this many seconds (default: until changed).", valueName: "seconds")
    )
    var seconds: Double?
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard TopologyControls.levelNames.contains(level) || level == "reset" else {
            throw ValidationError(
                "unknown log level '\(level)': use one of \(TopologyControls.levelNames.joined(separator: ", ")) or reset"
            )
        }
        if let seconds, !(seconds > 0) || !seconds.isFinite {
            throw ValidationError("--for must be a positive number of seconds, got \(seconds)")
        }
    }

    func run() async throws {
        let controls = try await client.post(
            NimbusAPI.Controls.self,
            NimbusRoute.logLevel.path(name),
            NimbusAPI.LogLevelRequest(component: component, level: level, seconds: seconds)
        )
        if json { return try printJSON(controls) }
        let what = component.map { "component \($0) of \(name)" } ?? name
        print(
            level == "reset"
                ? "\(what) logs at its own level again"
                : "\(what) logs at \(level) \(seconds.map { "for \(ControlsText.seconds($0))" } ?? "until changed")"
        )
        for line in ControlsText.lines(controls, now: Date().timeIntervalSince1970) { print(line) }
    }
}

// MARK: - debug

struct Debug: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sample a share of a component's tuples, or show the samples.",
        discussion: """
            gale debug NAME --component C --percent P [--for S] samples P % of C's tuples (emitted by a \
            spout, executed by a bolt) for S seconds or until changed; --percent 0 or --off stops. \
            gale debug NAME --show [--component C] prints the samples nimbus holds (the newest 500 per \
            component): time, component, task, stream, the worker's host:port and the values (at most 200 \
            characters). Sampling is off by default and costs nothing while off.
            """
    )

    @Argument(help: "Topology name or id.") var name: String
    @Option(help: "The component to sample (or to show the samples of).") var component: String?
    @Option(parsing: .unconditional, help: "Share of the component's tuples to sample, 0 to 100.") var percent: Double?
    @Flag(help: "Stop sampling the component (as --percent 0).") var off = false
    @Option(
        name: .customLong("for"),
        parsing: .unconditional,
        help: ArgumentHelp("Stop after this many seconds (default: until changed).", valueName: "seconds")
    )
    var seconds: Double?
    @Flag(help: "Print the samples instead of changing anything.") var show = false
    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var client: ClientOptions

    func validate() throws {
        if show {
            guard percent == nil, !off, seconds == nil else {
                throw ValidationError("--show takes no --percent, --off or --for")
            }
            return
        }
        guard component != nil else { throw ValidationError("give --component C with --percent or --off") }
        guard (percent != nil) != off else { throw ValidationError("give one of --percent P and --off") }
        if let percent, !(0...100).contains(percent) {
            throw ValidationError("--percent must be between 0 and 100, got \(percent)")
        }
        if let seconds, !(seconds > 0) || !seconds.isFinite {
            throw ValidationError("--for must be a positive number of seconds, got \(seconds)")
        }
    }

    func run() async throws {
        let now = Date().timeIntervalSince1970
        if show {
            var path = NimbusRoute.samples.path(name)
            if let component {
                path +=
                    "?component="
                    + (component.addingPercentEncoding(
                        withAllowedCharacters: .urlQueryAllowed.subtracting(.init(charactersIn: "&=+"))
                    )
                        ?? component)
            }
            let answer = try await client.get(NimbusAPI.SamplesResponse.self, path)
            if json { return try printJSON(answer) }
            for line in ControlsText.lines(answer.controls, now: now) { print(line) }
            if answer.samples.isEmpty {
                print("no samples\(component.map { " of \($0)" } ?? "")")
                return
            }
            print(ControlsText.samplesTable(answer.samples))
            return
        }
        guard let component else { return }
        let share = off ? 0 : percent ?? 0
        let controls = try await client.post(
            NimbusAPI.Controls.self,
            NimbusRoute.debug.path(name),
            NimbusAPI.DebugRequest(component: component, percent: share, seconds: seconds)
        )
        if json { return try printJSON(controls) }
        print(
            share == 0
                ? "sampling of \(component) stopped"
                : "sampling \(ControlsText.percent(share)) of \(component)'s tuples "
                    + (seconds.map { "for \(ControlsText.seconds($0))" } ?? "until changed")
                    + "; see them with: gale debug \(name) --show --component \(component)"
        )
        for line in ControlsText.lines(controls, now: now) { print(line) }
    }
}

/// How the CLI prints controls and samples.
enum ControlsText {
    /// One line per control in force: `log level: debug (component count, 25 s left)`.
    static func lines(_ controls: TopologyControls, now: Double) -> [String] {
        func left(_ until: Double?) -> String {
            until.map { "\(seconds(max(0, $0 - now).rounded())) left" } ?? "until changed"
        }
        var result: [String] = []
        for entry in controls.logLevels {
            let whose = entry.component.map { "component \($0)" } ?? "every logger"
            result.append("log level: \(entry.level) (\(whose), \(left(entry.until)))")
        }
        for entry in controls.sampling {
            result.append("sampling: \(percent(entry.percent)) of \(entry.component) (\(left(entry.until)))")
        }
        return result
    }

    static func samplesTable(_ samples: [NimbusAPI.Sample]) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss.SSS"
        return Table.render(
            header: ["TIME", "COMPONENT", "TASK", "STREAM", "WORKER", "VALUES"],
            rows: samples.map { s in
                [
                    formatter.string(from: Date(timeIntervalSince1970: s.time)), s.component, String(s.task), s.stream,
                    "\(s.host):\(s.port)", s.values,
                ]
            }
        )
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) s" : String(format: "%.1f s", value)
    }

    static func percent(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) %" : "\(value) %"
    }
}
