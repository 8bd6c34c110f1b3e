import Foundation

extension NimbusOpenAPI {
    /// `json` with the statistics the web UI reads: the cluster summary, the topology status's
    /// windows, edges, tasks and located errors, and the component page.
    static func addingStatistics(_ json: String) -> String {
        guard var root = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
            var paths = root["paths"] as? [String: Any],
            var components = root["components"] as? [String: Any],
            var schemas = components["schemas"] as? [String: Any],
            var status = schemas["TopologyStatus"] as? [String: Any],
            var properties = status["properties"] as? [String: Any]
        else { return json }
        func ref(_ name: String) -> [String: Any] { ["$ref": "#/components/schemas/\(name)"] }
        func array(_ items: [String: Any]) -> [String: Any] { ["type": "array", "items": items] }
        func object(_ fields: [String: [String: Any]], required: [String]? = nil) -> [String: Any] {
            ["type": "object", "properties": fields, "required": required ?? fields.keys.sorted()]
        }
        let integer: [String: Any] = ["type": "integer", "minimum": 0]
        let signed: [String: Any] = ["type": "integer"]
        let number: [String: Any] = ["type": "number"]
        let string: [String: Any] = ["type": "string"]
        let boolean: [String: Any] = ["type": "boolean"]
        func response(_ schema: [String: Any], _ description: String) -> [String: Any] {
            ["description": description, "content": ["application/json": ["schema": schema]]]
        }
        let errorResponse = { (description: String) in response(ref("Error"), description) }
        let rateFields = ["emitted", "transferred", "executed", "acked", "failed"]

        schemas["Rates"] = object(Dictionary(uniqueKeysWithValues: rateFields.map { ($0, number) }))
        var windowFields = Dictionary(uniqueKeysWithValues: rateFields.map { ($0, integer) })
        windowFields["completeLatencyMs"] = number
        windowFields["executeLatencyMs"] = number
        schemas["WindowCounters"] = object(windowFields)
        schemas["ComponentWindows"] = object([
            "id": string, "rates": ref("Rates"),
            "windows": [
                "type": "object", "additionalProperties": ref("WindowCounters"),
                "description": "Per window: 600, 10800, 86400 (seconds) and all",
            ],
        ])
        schemas["EdgeStats"] = object([
            "from": string, "to": string, "stream": string, "grouping": string, "transferred": integer,
            "perSecond": number,
        ])
        schemas["StreamStats"] = object(
            [
                "component": string, "stream": string, "from": string, "emitted": integer, "transferred": integer,
                "executed": integer, "acked": integer, "failed": integer,
            ],
            required: ["component", "stream", "emitted", "transferred", "executed", "acked", "failed"]
        )
        var taskFields = windowFields
        taskFields["task"] = signed
        taskFields["component"] = string
        taskFields["host"] = string
        taskFields["port"] = integer
        taskFields["capacity"] = number
        taskFields["pending"] = integer
        taskFields["queued"] = integer
        taskFields["overloaded"] = boolean
        schemas["TaskRow"] = object(taskFields)
        schemas["ErrorRow"] = object([
            "time": number, "component": string, "task": signed, "host": string, "port": integer, "message": string,
        ])
        schemas["NimbusRow"] = object(["identity": string, "leader": boolean])
        schemas["ClusterSummary"] = object([
            "version": string, "nimbusTime": number, "nimbuses": array(ref("NimbusRow")),
            "supervisors": array(ref("SupervisorRow")), "topologies": array(ref("TopologySummary")),
        ])
        schemas["ComponentPage"] = object(
            [
                "topology": string, "nimbusTime": number, "component": ["type": "object"],
                "window": ref("ComponentWindows"),
                "tasks": array(ref("TaskRow")), "errors": array(ref("ErrorRow")), "inputs": array(ref("EdgeStats")),
                "outputs": array(ref("EdgeStats")), "streams": array(ref("StreamStats")),
            ],
            required: ["topology", "nimbusTime", "component", "window", "tasks", "errors", "inputs", "outputs"]
        )
        properties["nimbusTime"] = number
        properties["windows"] = array(ref("ComponentWindows"))
        properties["edges"] = array(ref("EdgeStats"))
        properties["tasks"] = array(ref("TaskRow"))
        properties["recentErrors"] = array(ref("ErrorRow"))
        status["properties"] = properties
        schemas["TopologyStatus"] = status
        components["schemas"] = schemas
        root["components"] = components

        let leaderResponses: [String: Any] = [
            "409": errorResponse("This nimbus is not the leader (the body names the leader)"),
            "503": errorResponse("ZooKeeper is unavailable"),
        ]
        var clusterResponses = leaderResponses
        clusterResponses["200"] = response(ref("ClusterSummary"), "The cluster")
        paths["/api/v1/cluster"] = [
            "get": [
                "summary": "Nimbus processes, supervisors and topologies (the web UI's cluster page)",
                "responses": clusterResponses,
            ]
        ]
        var componentResponses = leaderResponses
        componentResponses["200"] = response(ref("ComponentPage"), "The component")
        componentResponses["404"] = errorResponse("Unknown topology or component")
        let pathParameter = { (name: String, description: String) -> [String: Any] in
            [
                "name": name, "in": "path", "required": true, "description": description,
                "schema": ["type": "string", "minLength": 1],
            ]
        }
        paths["/api/v1/topologies/{name}/components/{component}"] = [
            "get": [
                "summary": "One component: all-time counts, windows, tasks, errors and edges",
                "parameters": [
                    pathParameter("name", "Topology name or id"), pathParameter("component", "Component id"),
                ],
                "responses": componentResponses,
            ]
        ]
        root["paths"] = paths
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: root,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            )
        else { return json }
        return String(decoding: data, as: UTF8.self)
    }
}
