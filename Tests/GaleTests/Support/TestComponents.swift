import Gale

/// One stream a test component declares.
struct DeclaredStream: Sendable {
    var id: String
    var fields: Fields
    var direct = false

    init(_ id: String, _ fields: Fields, direct: Bool = false) {
        self.id = id
        self.fields = fields
        self.direct = direct
    }

    /// The default stream with `fields`.
    init(_ fields: Fields) {
        self.init(Topology.defaultStreamId, fields)
    }
}

/// A spout that only declares streams; validation tests never run it.
final class DeclaringSpout: Spout {
    let streams: [DeclaredStream]

    init(_ streams: [DeclaredStream] = [DeclaredStream(["word"])]) {
        self.streams = streams
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        for stream in streams {
            declarer.declareStream(stream.id, fields: stream.fields, direct: stream.direct)
        }
    }

    func nextTuple() {}
}

/// A bolt that only declares streams; validation tests never run it.
final class DeclaringBolt: Bolt {
    let streams: [DeclaredStream]

    init(_ streams: [DeclaredStream] = []) {
        self.streams = streams
    }

    func declareOutputFields(_ declarer: inout OutputFieldsDeclarer) {
        for stream in streams {
            declarer.declareStream(stream.id, fields: stream.fields, direct: stream.direct)
        }
    }

    func execute(_ tuple: Tuple) {}
}

/// A grouping that sends everything to the first task; only its name matters in descriptions.
final class FirstTaskGrouping: CustomStreamGrouping {
    var targets: [Int] = []

    func prepare(context: TopologyContext, sourceComponent: String, stream: String, targetTasks: [Int]) {
        targets = targetTasks
    }

    func chooseTasks(sourceTask: Int, values: [GaleValue]) -> [Int] {
        Array(targets.prefix(1))
    }
}
