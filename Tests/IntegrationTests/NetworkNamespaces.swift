import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Separate hosts on one machine: one network namespace per host, each joined by a veth pair to
/// a bridge in the root namespace, on a private /24 (`10.213.X.0/24`, X picked free per run).
///
/// The bridge holds `10.213.X.1`, so the test process (and the `gale` CLI it runs in the root
/// namespace) reaches every host; host `i` (in the order given) is `10.213.X.(10 + i)`. Every
/// namespace has `lo` up, so a daemon still reaches its own loopback.
///
/// Names: namespaces `g213-<pid>-<n>-<host>`, bridge `g213b<pid><n>`, root-side veth ends
/// `g213v<pid><n><i>` (pid as six hex digits, `n` this process's set counter): a later run
/// removes what a crashed run left (``removeStale()``), never what a live test process owns.
final class NetworkNamespaces: @unchecked Sendable {
    struct Host {
        let name: String
        let namespace: String
        let address: String
        /// The root-namespace end of the host's veth pair (on the bridge).
        let veth: String
    }

    static let prefix = "g213"
    /// The addresses' first two octets.
    static let network = "10.213"

    let ip: String
    let bridge: String
    let subnet: String
    private(set) var hosts: [String: Host] = [:]
    private var namespaces: [String] = []
    private let removed = Atomic<Bool>(false)

    /// Sets counted per process, so that two sets never share a name.
    private static let counter = Mutex(0)

    /// `/24` prefixes taken by this process's live sets.
    private static let subnetsInUse = Mutex<Set<Int>>([])

    /// Creates the bridge and one namespace per name in `hostNames`; removes everything it made
    /// when a step fails.
    init(hosts hostNames: [String]) throws {
        guard let ip = Self.ipCommand else { throw SmokeTestFailure("no ip command (iproute2)") }
        self.ip = ip
        Self.removeStale()
        let n = Self.counter.withLock { c in
            defer { c = (c + 1) % 16 }
            return c
        }
        let tag = String(format: "%06x%x", Int(getpid()), n)
        bridge = "\(Self.prefix)b\(tag)"
        subnet = "\(Self.network).\(try Self.freeSubnet())"
        do {
            try sh(["link", "add", bridge, "type", "bridge", "forward_delay", "0"])
            try sh(["addr", "add", "\(subnet).1/24", "dev", bridge])
            try sh(["link", "set", bridge, "up"])
            for (i, name) in hostNames.enumerated() {
                let host = Host(
                    name: name,
                    namespace: "\(Self.prefix)-\(String(format: "%06x", Int(getpid())))-\(n)-\(name)",
                    address: "\(subnet).\(10 + i)",
                    veth: "\(Self.prefix)v\(tag)\(String(i, radix: 16))"
                )
                let peer = host.veth + "p"
                try sh(["netns", "add", host.namespace])
                namespaces.append(host.namespace)
                hosts[name] = host
                try sh(["link", "add", host.veth, "type", "veth", "peer", "name", peer])
                try sh(["link", "set", peer, "netns", host.namespace])
                try sh(["link", "set", host.veth, "master", bridge])
                try sh(["link", "set", host.veth, "up"])
                try sh(["-n", host.namespace, "link", "set", "lo", "up"])
                try sh(["-n", host.namespace, "addr", "add", "\(host.address)/24", "dev", peer])
                try sh(["-n", host.namespace, "link", "set", peer, "up"])
            }
        } catch {
            tearDown()
            throw error
        }
    }

    deinit { tearDown() }

    func host(_ name: String) -> Host {
        guard let host = hosts[name] else { fatalError("no host \(name) in this namespace set") }
        return host
    }

    func address(_ name: String) -> String { host(name).address }

    /// The command prefix that runs a program on host `name`: `ip netns exec <namespace>`
    /// (which execs the program, so a spawned pid is the program's).
    func launcher(_ name: String) -> [String] { [ip, "netns", "exec", host(name).namespace] }

    /// Cuts host `name` off the network: its veth end on the bridge goes down (no carrier, so
    /// packets are dropped both ways and nothing is reset).
    func cut(_ name: String) throws { try sh(["link", "set", host(name).veth, "down"]) }

    /// Joins host `name` to the bridge again.
    func restore(_ name: String) throws { try sh(["link", "set", host(name).veth, "up"]) }

    /// Kills every process left in the namespaces, deletes them (their veth pairs go with
    /// them) and the bridge. Safe to call twice.
    func tearDown() {
        guard !removed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        for namespace in namespaces { Self.delete(namespace: namespace, ip: ip) }
        _ = try? ClusterHarness.run(ip, ["link", "del", bridge], timeout: 30)
        if let third = Int(subnet.split(separator: ".").last ?? "") {
            Self.subnetsInUse.withLock { _ = $0.remove(third) }
        }
    }

    /// Runs `ip ARGS`; throws with its output when it fails.
    @discardableResult
    private func sh(_ arguments: [String]) throws -> String {
        let result = try ClusterHarness.run(ip, arguments, timeout: 30)
        guard result.status == 0 else {
            throw SmokeTestFailure("ip \(arguments.joined(separator: " ")) failed: \(result.output)")
        }
        return result.output
    }

    // MARK: - Availability and leftovers

    static let ipCommand: String? = ["/usr/sbin/ip", "/sbin/ip", "/bin/ip", "/usr/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// Why the multi-host tests are skipped, from checks without side effects (the probe that
    /// ``unavailableReason`` makes runs only when a test is about to run, and prints its failure).
    static var skipReason: String {
        if geteuid() != 0 { return "multi-host tests need root to create network namespaces (run as root, as CI does)" }
        if ipCommand == nil { return "multi-host tests need the ip command (iproute2)" }
        return "multi-host tests cannot create a network namespace and a bridge here (see the probe's output)"
    }

    /// Why namespaces cannot be made here (`nil` when they can): the tests need root, iproute2
    /// and a kernel that lets this process create a network namespace and a bridge.
    static let unavailableReason: String? = {
        let reason = probe()
        if let reason { print("multi-host tests skipped: \(reason)") }
        return reason
    }()

    private static func probe() -> String? {
        guard geteuid() == 0 else { return "multi-host tests need root to create network namespaces" }
        guard let ip = ipCommand else { return "multi-host tests need the ip command (iproute2)" }
        let probe = "\(prefix)-\(String(format: "%06x", Int(getpid())))-probe"
        guard let added = try? ClusterHarness.run(ip, ["netns", "add", probe], timeout: 30) else {
            return "cannot run \(ip)"
        }
        defer { _ = try? ClusterHarness.run(ip, ["netns", "del", probe], timeout: 30) }
        guard added.status == 0 else { return "`ip netns add` fails here: \(added.output)" }
        let bridge = try? ClusterHarness.run(ip, ["-n", probe, "link", "add", "probe0", "type", "bridge"], timeout: 30)
        guard bridge?.status == 0 else { return "cannot create a bridge here: \(bridge?.output ?? "")" }
        return nil
    }

    /// A third octet no address of this machine uses (nor another live set of this process).
    private static func freeSubnet() throws -> Int {
        let used = (try? ClusterHarness.run(ipCommand ?? "ip", ["-4", "-o", "addr", "show"], timeout: 30).output) ?? ""
        let start = Int(getpid()) % 200 + 20
        for offset in 0..<230 {
            let third = (start + offset - 20) % 230 + 20
            if used.contains(" \(network).\(third).") { continue }
            if subnetsInUse.withLock({ $0.insert(third).inserted }) { return third }
        }
        throw SmokeTestFailure("no free /24 in \(network).0.0/16")
    }

    /// Whether `pid` is a live test process (whose namespaces must be left alone).
    private static func isLiveTestProcess(_ pid: Int) -> Bool {
        guard pid > 0, kill(pid_t(pid), 0) == 0 || errno == EPERM,
            let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline")
        else { return false }
        let command = String(decoding: data, as: UTF8.self)
        return command.contains("PackageTests") || command.contains("xctest") || command.contains("swiftpm-testing")
    }

    /// Deletes the namespaces, bridges and veth ends named with ``prefix`` whose owning test
    /// process is gone (left by a run that crashed or was killed), killing what still runs there.
    static func removeStale() {
        guard let ip = ipCommand else { return }
        let listed = (try? ClusterHarness.run(ip, ["netns", "list"], timeout: 30).output) ?? ""
        for line in listed.split(separator: "\n") {
            guard let name = line.split(separator: " ").first.map(String.init), name.hasPrefix(prefix + "-") else {
                continue
            }
            let parts = name.split(separator: "-")
            guard parts.count >= 3, let pid = Int(parts[1], radix: 16), !isLiveTestProcess(pid) else { continue }
            delete(namespace: name, ip: ip)
        }
        let links = (try? ClusterHarness.run(ip, ["-o", "link", "show"], timeout: 30).output) ?? ""
        for line in links.split(separator: "\n") {
            // "12: g213b0012ab0: <BROADCAST,..." or "13: g213v0012ab01@if2: ..."
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { continue }
            let name = String(fields[1].split(separator: "@").first ?? "").trimmingCharacters(
                in: CharacterSet(charactersIn: ":")
            )
            guard name.hasPrefix(prefix + "b") || name.hasPrefix(prefix + "v"),
                let pid = Int(name.dropFirst(prefix.count + 1).prefix(6), radix: 16), !isLiveTestProcess(pid)
            else { continue }
            _ = try? ClusterHarness.run(ip, ["link", "del", name], timeout: 30)
        }
    }

    /// Kills the processes in `namespace` (SIGKILL, then waits for them to go) and deletes it.
    private static func delete(namespace: String, ip: String) {
        for _ in 0..<50 {
            let pids = (try? ClusterHarness.run(ip, ["netns", "pids", namespace], timeout: 30).output) ?? ""
            let alive = pids.split(separator: "\n").compactMap { pid_t($0) }
            if alive.isEmpty { break }
            for pid in alive {
                kill(pid, SIGKILL)
                // Ours (a daemon this process spawned): reap it, so it leaves the namespace.
                var status: Int32 = 0
                _ = waitpid(pid, &status, WNOHANG)
            }
            usleep(100_000)
        }
        _ = try? ClusterHarness.run(ip, ["netns", "del", namespace], timeout: 30)
    }
}
