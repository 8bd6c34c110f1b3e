import Gale

extension Executor {
    /// The route of `stream`, checked against `values`; reports and returns `nil` on a bad emit.
    @inline(__always)
    func checkedRoute(_ routes: RoutingTable, stream: String, values: [GaleValue], direct: Bool) -> StreamRoute? {
        guard let route = routes.route(stream) else {
            report("emit on stream [\(stream)] that component [\(componentId)] does not declare")
            return nil
        }
        guard values.count == route.source.fields.count else {
            report(
                "emit of \(values.count) values on stream [\(stream)] of component [\(componentId)], "
                    + "which declares \(route.source.fields.count) fields \(route.source.fields)"
            )
            return nil
        }
        guard route.isDirect == direct else {
            report(
                direct
                    ? "emitDirect on stream [\(stream)] of component [\(componentId)], which is not declared direct"
                    : "emit on the direct stream [\(stream)] of component [\(componentId)]: use emitDirect"
            )
            return nil
        }
        return route
    }

    /// `true` when `task` subscribes to the direct stream `route`; reports otherwise.
    func checkDirectTarget(_ route: StreamRoute, task: Int) -> Bool {
        guard route.directTasks.contains(task) else {
            report(
                "emitDirect to task \(task) on stream [\(route.source.streamId)] of component [\(componentId)]: "
                    + "that task does not subscribe to the stream with direct grouping"
            )
            return false
        }
        route.countDirect(to: task)
        return true
    }
}
