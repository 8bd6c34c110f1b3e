import ArgumentParser
import Foundation
import Gale
import GaleCoordination
import GaleDaemons

struct Version: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the CLI's Gale version and, when a nimbus answers, nimbus's.",
        discussion: "Asks the nimbus addresses (--nimbus, GALE_NIMBUS or nimbus.seeds) for GET /api/v1/health."
    )

    @Flag(help: "Print JSON.") var json = false
    @OptionGroup var client: ClientOptions

    struct Output: Encodable {
        var cli: String
        var nimbus: String?
        var nimbusVersion: String?
        var nimbusError: String?
    }

    func run() async throws {
        var output = Output(cli: Gale.version)
        do {
            let health = try await client.get(NimbusAPI.Health.self, NimbusRoute.health.path())
            output.nimbus = health.identity
            output.nimbusVersion = health.version
        } catch {
            output.nimbusError = "\(error)"
        }
        if json { return try printJSON(output) }
        print("gale \(output.cli)")
        if let nimbus = output.nimbus {
            print("nimbus \(nimbus) \(output.nimbusVersion ?? "(a version older than 0.15.0, which does not say)")")
        } else if let error = output.nimbusError {
            print("nimbus: not reached (\(error))")
        }
    }
}
