import Gale

extension Executor {
    /// The route of `stream`, checked against an emit of `count` values; reports and returns
    /// `nil` on a bad emit.
    @inline(__always)
    func checkedRoute(_ routes: RoutingTable, stream: String, count: Int, direct: Bool) -> StreamRoute? {
        checkedRouteRef(routes, stream: stream, count: count, direct: direct)?.takeUnretainedValue()
    }

    /// ``checkedRoute(_:stream:count:direct:)`` as an unretained reference (see
    /// ``RoutingTable/routeRef(_:)``).
    @inline(__always)
    func checkedRouteRef(_ routes: RoutingTable, stream: String, count: Int, direct: Bool) -> Unmanaged<StreamRoute>? {
        if let ref = routes.routeRef(stream),
            ref._withUnsafeGuaranteedRef({ $0.fieldCount == count && $0.isDirect == direct })
        {
            return ref
        }
        reportBadEmit(routes, stream: stream, count: count, direct: direct)
        return nil
    }

    /// Reports why an emit of `count` values on `stream` has no route.
    @inline(never)
    func reportBadEmit(_ routes: RoutingTable, stream: String, count: Int, direct: Bool) {
        guard let route = routes.route(stream) else {
            report("emit on stream [\(stream)] that component [\(componentId)] does not declare")
            return
        }
        guard count == route.fieldCount else {
            report(
                "emit of \(count) values on stream [\(stream)] of component [\(componentId)], "
                    + "which declares \(route.fieldCount) fields \(route.source.fields)"
            )
            return
        }
        report(
            direct
                ? "emitDirect on stream [\(stream)] of component [\(componentId)], which is not declared direct"
                : "emit on the direct stream [\(stream)] of component [\(componentId)]: use emitDirect"
        )
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
