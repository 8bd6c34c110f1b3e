import Gale
import Testing

@Suite struct TopologyContextTests {
    static func context(task: Int) -> TopologyContext {
        var declarer = OutputFieldsDeclarer()
        declarer.declare(["word"])
        declarer.declareStream("counts", fields: ["word", "n"])
        return TopologyContext(
            topologyName: "t",
            componentId: "split",
            taskId: task,
            config: TopologyConfig(),
            tasksByComponent: ["spout": [1, 2], "split": [3, 4, 5]],
            outputStreams: declarer.streams
        )
    }

    @Test func tasksOfListsTheComponentsTasks() {
        let context = Self.context(task: 4)
        #expect(context.tasks(of: "spout") == [1, 2])
        #expect(context.tasks(of: "unknown") == [])
        #expect(context.componentTasks == [3, 4, 5])
    }

    @Test(arguments: [(3, 0), (4, 1), (5, 2)])
    func taskIndexCountsFromZeroWithinTheComponent(_ task: Int, _ index: Int) {
        #expect(Self.context(task: task).taskIndex == index)
    }

    @Test func outputFieldsLooksUpDeclaredStreams() {
        let context = Self.context(task: 3)
        #expect(context.outputFields() == ["word"])
        #expect(context.outputFields(stream: "counts") == ["word", "n"])
        #expect(context.outputFields(stream: "nope") == nil)
    }
}
