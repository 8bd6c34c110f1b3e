import Foundation

/// The OpenAPI 3.0 document of nimbus's HTTP API, served at `GET /api/v1/openapi.json`.
///
/// Its paths and methods are exactly ``NimbusRoute/all`` (a unit test checks it), and an
/// integration test runs schemathesis against a live nimbus with it, open and with tokens.
public enum NimbusOpenAPI {
    /// The document of a nimbus whose API is open (no `auth.tokens`): no credentials asked.
    public static let document = merging(base, controls)

    /// The document of a nimbus that authenticates its callers: ``document`` with a bearer
    /// security scheme, required by every route but the open ones (``NimbusRoute/Access/open``),
    /// and, from the route table, each such route's 401 (missing or unknown token) and 403 (a
    /// role or owner that may not call it, naming who may).
    public static let authenticatedDocument = secured(document)

    /// The document a nimbus with `authenticator` serves.
    public static func document(for authenticator: Authenticator) -> String {
        authenticator.isOpen ? document : authenticatedDocument
    }

    static func secured(_ json: String) -> String {
        guard var root = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any],
            var paths = root["paths"] as? [String: Any],
            var components = root["components"] as? [String: Any]
        else { return json }
        components["securitySchemes"] = [
            "bearer": [
                "type": "http",
                "scheme": "bearer",
                "description":
                    "A token of auth.tokens (role admin, submitter or viewer), or the cluster secret (supervisors, nimbus)",
            ]
        ]
        root["components"] = components
        root["security"] = [["bearer": [String]()]]
        func error(_ description: String) -> [String: Any] {
            [
                "description": description,
                "content": ["application/json": ["schema": ["$ref": "#/components/schemas/Error"]]],
            ]
        }
        for route in NimbusRoute.all {
            guard var item = paths[route.pattern] as? [String: Any],
                var operation = item[route.method.lowercased()] as? [String: Any]
            else { continue }
            if route.access == .open {
                operation["security"] = [[String: [String]]]()
            } else {
                var responses = operation["responses"] as? [String: Any] ?? [:]
                responses["401"] = error("No token, or one nimbus does not know")
                responses["403"] = error("The caller may not call this route: it needs \(route.access.callers)")
                operation["responses"] = responses
            }
            item[route.method.lowercased()] = operation
            paths[route.pattern] = item
        }
        root["paths"] = paths
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: root,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            )
        else { return json }
        return String(decoding: data, as: UTF8.self)
    }

    /// The document: the literal below with the statistics routes and schemas
    /// (``addingStatistics(_:)``).
    static let base = addingStatistics(literal)

    static let literal = #"""
        {
         "components": {
          "schemas": {
           "BlobResponse": {
            "properties": {
             "digest": {
              "type": "string"
             },
             "notReplicated": {
              "additionalProperties": {
               "type": "string"
              },
              "type": "object"
             },
             "replicas": {
              "items": {
               "type": "string"
              },
              "type": "array"
             },
             "size": {
              "type": "integer"
             }
            },
            "required": [
             "digest",
             "size"
            ],
            "type": "object"
           },
           "Error": {
            "properties": {
             "error": {
              "type": "string"
             },
             "leader": {
              "type": "string"
             },
             "notLeader": {
              "type": "boolean"
             }
            },
            "required": [
             "error"
            ],
            "type": "object"
           },
           "Health": {
            "properties": {
             "identity": {
              "type": "string"
             },
             "leader": {
              "type": "boolean"
             },
             "leaderIdentity": {
              "type": "string"
             },
             "uptimeSeconds": {
              "type": "number"
             },
             "version": {
              "type": "string"
             },
             "zookeeperConnected": {
              "type": "boolean"
             }
            },
            "required": [
             "identity",
             "leader",
             "zookeeperConnected",
             "uptimeSeconds"
            ],
            "type": "object"
           },
           "KillRequest": {
            "properties": {
             "waitSeconds": {
              "description": "Seconds between deactivation and removal; null or absent: the topology's message timeout",
              "minimum": 0,
              "nullable": true,
              "type": "number"
             }
            },
            "type": "object"
           },
           "LogChunk": {
            "properties": {
             "file": {
              "description": "The log file's name on the supervisor's host",
              "type": "string"
             },
             "length": {
              "description": "Bytes of the file in text (0 with grep)",
              "minimum": 0,
              "type": "integer"
             },
             "matches": {
              "description": "With grep: the matching lines of the whole file, at most 1,000",
              "items": {
               "$ref": "#/components/schemas/LogMatch"
              },
              "type": "array"
             },
             "offset": {
              "description": "Where text starts in the file (0 with grep)",
              "minimum": 0,
              "type": "integer"
             },
             "size": {
              "description": "The file's size in bytes when read",
              "minimum": 0,
              "type": "integer"
             },
             "text": {
              "description": "The bytes read as UTF-8; empty with grep",
              "type": "string"
             },
             "worker": {
              "description": "The worker, HOST:PORT",
              "type": "string"
             }
            },
            "required": [
             "worker",
             "file",
             "size",
             "offset",
             "length",
             "text"
            ],
            "type": "object"
           },
           "LogMatch": {
            "properties": {
             "line": {
              "description": "The line (at most 4 KiB of it)",
              "type": "string"
             },
             "offset": {
              "description": "Offset of the line's first byte",
              "minimum": 0,
              "type": "integer"
             }
            },
            "required": [
             "offset",
             "line"
            ],
            "type": "object"
           },
           "RebalanceRequest": {
            "properties": {
             "parallelism": {
              "additionalProperties": {
               "minimum": 1,
               "type": "integer"
              },
              "type": "object"
             },
             "workers": {
              "minimum": 1,
              "type": "integer"
             }
            },
            "type": "object"
           },
           "SubmitRequest": {
            "properties": {
             "config": {
              "additionalProperties": {
               "type": "string"
              },
              "type": "object"
             },
             "description": {
              "description": "The binary's `describe` output",
              "type": "object"
             },
             "digest": {
              "type": "string"
             },
             "name": {
              "type": "string"
             },
             "workers": {
              "type": "integer"
             }
            },
            "required": [
             "name",
             "digest",
             "description",
             "config"
            ],
            "type": "object"
           },
           "SubmitResponse": {
            "properties": {
             "id": {
              "type": "string"
             },
             "name": {
              "type": "string"
             }
            },
            "required": [
             "id",
             "name"
            ],
            "type": "object"
           },
           "SupervisorReport": {
            "properties": {
             "errors": {
              "items": {
               "type": "string"
              },
              "type": "array"
             },
             "host": {
              "type": "string"
             },
             "slots": {
              "items": {
               "type": "integer"
              },
              "type": "array"
             },
             "supervisorId": {
              "type": "string"
             },
             "uptimeSeconds": {
              "type": "number"
             },
             "v": {
              "type": "integer"
             },
             "workers": {
              "items": {
               "type": "object"
              },
              "type": "array"
             }
            },
            "required": [
             "supervisorId",
             "host",
             "slots",
             "uptimeSeconds",
             "workers",
             "errors"
            ],
            "type": "object"
           },
           "SupervisorRow": {
            "properties": {
             "host": {
              "type": "string"
             },
             "id": {
              "type": "string"
             },
             "lastReportAgeSeconds": {
              "type": "number"
             },
             "slots": {
              "items": {
               "type": "integer"
              },
              "type": "array"
             },
             "usedSlots": {
              "items": {
               "type": "integer"
              },
              "type": "array"
             }
            },
            "required": [
             "id",
             "host",
             "slots",
             "usedSlots"
            ],
            "type": "object"
           },
           "TopologyStatus": {
            "properties": {
             "binaryDigest": {
              "type": "string"
             },
             "components": {
              "items": {
               "type": "object"
              },
              "type": "array"
             },
             "epoch": {
              "type": "integer"
             },
             "errors": {
              "items": {
               "type": "string"
              },
              "type": "array"
             },
             "id": {
              "type": "string"
             },
             "name": {
              "type": "string"
             },
             "problems": {
              "items": {
               "type": "string"
              },
              "type": "array"
             },
             "requestedWorkers": {
              "type": "integer"
             },
             "status": {
              "enum": [
               "active",
               "inactive",
               "killed"
              ],
              "type": "string"
             },
             "uptimeSeconds": {
              "type": "number"
             },
             "workers": {
              "items": {
               "$ref": "#/components/schemas/WorkerRow"
              },
              "type": "array"
             }
            },
            "required": [
             "id",
             "name",
             "status",
             "epoch",
             "requestedWorkers",
             "binaryDigest",
             "uptimeSeconds",
             "components",
             "workers",
             "errors",
             "problems"
            ],
            "type": "object"
           },
           "TopologySummary": {
            "properties": {
             "assignedWorkers": {
              "type": "integer"
             },
             "epoch": {
              "type": "integer"
             },
             "id": {
              "type": "string"
             },
             "name": {
              "type": "string"
             },
             "problems": {
              "items": {
               "type": "string"
              },
              "type": "array"
             },
             "requestedWorkers": {
              "type": "integer"
             },
             "runningWorkers": {
              "type": "integer"
             },
             "status": {
              "enum": [
               "active",
               "inactive",
               "killed"
              ],
              "type": "string"
             },
             "tasks": {
              "type": "integer"
             },
             "uptimeSeconds": {
              "type": "number"
             }
            },
            "required": [
             "id",
             "name",
             "status",
             "requestedWorkers",
             "assignedWorkers",
             "runningWorkers",
             "tasks",
             "epoch",
             "uptimeSeconds",
             "problems"
            ],
            "type": "object"
           },
           "WorkerRow": {
            "properties": {
             "host": {
              "type": "string"
             },
             "lastExit": {
              "type": "string"
             },
             "pid": {
              "type": "integer"
             },
             "port": {
              "type": "integer"
             },
             "restarts": {
              "type": "integer"
             },
             "state": {
              "enum": [
               "running",
               "starting",
               "stale",
               "failed",
               "no-binary",
               "unknown"
              ],
              "type": "string"
             },
             "supervisorId": {
              "type": "string"
             },
             "tasks": {
              "items": {
               "type": "integer"
              },
              "type": "array"
             },
             "uptimeSeconds": {
              "type": "number"
             }
            },
            "required": [
             "supervisorId",
             "host",
             "port",
             "tasks",
             "state",
             "uptimeSeconds",
             "restarts"
            ],
            "type": "object"
           }
          }
         },
         "info": {
          "description": "Submit and manage topologies, supervisor reports and topology binaries. A follower answers calls that read or change the cluster's state with 409 naming the leader; a nimbus cut off from ZooKeeper answers them with 503.",
          "title": "Gale nimbus API",
          "version": "1"
         },
         "openapi": "3.0.3",
         "paths": {
          "/": {
           "get": {
            "responses": {
             "200": {
              "content": {
               "text/html": {
                "schema": {
                 "type": "string"
                }
               }
              },
              "description": "The web UI's page (docs/web-ui.md); its scripts read the cluster through this API"
             },
             "304": {
              "description": "Not modified (If-None-Match names the page's ETag)"
             }
            },
            "summary": "The web UI"
           }
          },
          "/api/v1/blobs": {
           "post": {
            "requestBody": {
             "content": {
              "application/octet-stream": {
               "schema": {
                "format": "binary",
                "type": "string"
               }
              }
             },
             "required": true
            },
            "responses": {
             "201": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/BlobResponse"
                }
               }
              },
              "description": "Stored"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Empty upload"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "500": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Cannot store"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "Upload a topology binary (leader only; replicated to the followers before the answer)"
           }
          },
          "/api/v1/blobs/{digest}": {
           "get": {
            "parameters": [
             {
              "description": "Lowercase hex SHA-256 of the binary",
              "in": "path",
              "name": "digest",
              "required": true,
              "schema": {
               "type": "string"
              }
             }
            ],
            "responses": {
             "200": {
              "content": {
               "application/octet-stream": {
                "schema": {
                 "format": "binary",
                 "type": "string"
                }
               }
              },
              "description": "The binary"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Not held here"
             }
            },
            "summary": "Download a binary this nimbus holds (any nimbus)"
           },
           "put": {
            "parameters": [
             {
              "description": "Lowercase hex SHA-256 of the binary",
              "in": "path",
              "name": "digest",
              "required": true,
              "schema": {
               "type": "string"
              }
             }
            ],
            "requestBody": {
             "content": {
              "application/octet-stream": {
               "schema": {
                "format": "binary",
                "type": "string"
               }
              }
             },
             "required": true
            },
            "responses": {
             "201": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/BlobResponse"
                }
               }
              },
              "description": "Stored"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Not a digest, or the bytes have another digest"
             },
             "500": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Cannot store"
             }
            },
            "summary": "Store a replica pushed by the leader (any nimbus; stored only under its own digest)"
           }
          },
          "/api/v1/health": {
           "get": {
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Health"
                }
               }
              },
              "description": "Health"
             }
            },
            "summary": "This nimbus's identity and leadership"
           }
          },
          "/api/v1/openapi.json": {
           "get": {
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "type": "object"
                }
               }
              },
              "description": "The OpenAPI document"
             }
            },
            "summary": "This document"
           }
          },
          "/api/v1/supervisors": {
           "get": {
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "items": {
                  "$ref": "#/components/schemas/SupervisorRow"
                 },
                 "type": "array"
                }
               }
              },
              "description": "Supervisors"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "The live supervisors"
           }
          },
          "/api/v1/supervisors/report": {
           "post": {
            "requestBody": {
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/SupervisorReport"
               }
              }
             },
             "required": true
            },
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "properties": {
                  "ok": {
                   "type": "boolean"
                  }
                 },
                 "required": [
                  "ok"
                 ],
                 "type": "object"
                }
               }
              },
              "description": "Recorded"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Not a report"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "A supervisor's report of its workers (leader only)"
           }
          },
          "/api/v1/topologies": {
           "get": {
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "items": {
                  "$ref": "#/components/schemas/TopologySummary"
                 },
                 "type": "array"
                }
               }
              },
              "description": "Topologies"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "Every topology"
           },
           "post": {
            "requestBody": {
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/SubmitRequest"
               }
              }
             },
             "required": true
            },
            "responses": {
             "201": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/SubmitResponse"
                }
               }
              },
              "description": "Submitted"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Bad request"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "Submit a topology whose binary was uploaded"
           }
          },
          "/api/v1/topologies/{name}": {
           "get": {
            "parameters": [
             {
              "description": "Topology name or id",
              "in": "path",
              "name": "name",
              "required": true,
              "schema": {
               "minLength": 1,
               "type": "string"
              }
             }
            ],
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/TopologyStatus"
                }
               }
              },
              "description": "Status"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Unknown topology"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "A topology's components, workers, errors and problems"
           }
          },
          "/api/v1/topologies/{name}/activate": {
           "post": {
            "parameters": [
             {
              "description": "Topology name or id",
              "in": "path",
              "name": "name",
              "required": true,
              "schema": {
               "minLength": 1,
               "type": "string"
              }
             }
            ],
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/TopologySummary"
                }
               }
              },
              "description": "The topology"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Bad request"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Unknown topology"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "Activate a topology's spouts"
           }
          },
          "/api/v1/topologies/{name}/deactivate": {
           "post": {
            "parameters": [
             {
              "description": "Topology name or id",
              "in": "path",
              "name": "name",
              "required": true,
              "schema": {
               "minLength": 1,
               "type": "string"
              }
             }
            ],
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/TopologySummary"
                }
               }
              },
              "description": "The topology"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Bad request"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Unknown topology"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "Deactivate a topology's spouts"
           }
          },
          "/api/v1/topologies/{name}/kill": {
           "post": {
            "parameters": [
             {
              "description": "Topology name or id",
              "in": "path",
              "name": "name",
              "required": true,
              "schema": {
               "minLength": 1,
               "type": "string"
              }
             }
            ],
            "requestBody": {
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/KillRequest"
               }
              }
             },
             "required": false
            },
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/TopologySummary"
                }
               }
              },
              "description": "The topology"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Bad request"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Unknown topology"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "Deactivate, wait, then remove a topology"
           }
          },
          "/api/v1/topologies/{name}/rebalance": {
           "post": {
            "parameters": [
             {
              "description": "Topology name or id",
              "in": "path",
              "name": "name",
              "required": true,
              "schema": {
               "minLength": 1,
               "type": "string"
              }
             }
            ],
            "requestBody": {
             "content": {
              "application/json": {
               "schema": {
                "$ref": "#/components/schemas/RebalanceRequest"
               }
              }
             },
             "required": true
            },
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/TopologySummary"
                }
               }
              },
              "description": "The topology"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Bad request"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Unknown topology"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable"
             }
            },
            "summary": "Change workers or component parallelism"
           }
          },
          "/api/v1/topologies/{name}/workers/{worker}/log": {
           "get": {
            "parameters": [
             {
              "description": "Topology name or id",
              "in": "path",
              "name": "name",
              "required": true,
              "schema": {
               "minLength": 1,
               "type": "string"
              }
             },
             {
              "description": "The worker, HOST:PORT as in the topology's workers",
              "in": "path",
              "name": "worker",
              "required": true,
              "schema": {
               "minLength": 1,
               "type": "string"
              }
             },
             {
              "description": "Byte offset to read from; negative: from the end. Default: the last length bytes",
              "in": "query",
              "name": "offset",
              "required": false,
              "schema": {
               "type": "integer"
              }
             },
             {
              "description": "Bytes to read (default 65536; more than 1 MiB reads 1 MiB)",
              "in": "query",
              "name": "length",
              "required": false,
              "schema": {
               "minimum": 1,
               "type": "integer"
              }
             },
             {
              "description": "Answer the lines of the whole file that hold this text instead (at most 1,000)",
              "in": "query",
              "name": "grep",
              "required": false,
              "schema": {
               "maxLength": 1024,
               "minLength": 1,
               "type": "string"
              }
             }
            ],
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/LogChunk"
                }
               }
              },
              "description": "A range of the worker's log, or its matching lines"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Not a HOST:PORT worker, or a bad offset, length or grep"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Unknown topology, no such worker of it, or no log file"
             },
             "409": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "This nimbus is not the leader (the body names the leader)"
             },
             "502": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "The worker's supervisor cannot be reached or refused nimbus"
             },
             "503": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "ZooKeeper is unavailable, or the worker's supervisor is not registered"
             }
            },
            "summary": "A worker's log through its supervisor: a byte range (the tail by default) or the lines holding a text"
           }
          },
          "/metrics": {
           "get": {
            "responses": {
             "200": {
              "content": {
               "text/plain": {
                "schema": {
                 "type": "string"
                }
               }
              },
              "description": "Metrics"
             }
            },
            "summary": "Prometheus text exposition"
           }
          },
          "/ui/{asset}": {
           "get": {
            "parameters": [
             {
              "description": "The asset's file name (style.css, core.js, ...)",
              "in": "path",
              "name": "asset",
              "required": true,
              "schema": {
               "type": "string"
              }
             },
             {
              "description": "The asset's version as the page names it: with the current one the answer may be cached for a year",
              "in": "query",
              "name": "v",
              "required": false,
              "schema": {
               "type": "string"
              }
             }
            ],
            "responses": {
             "200": {
              "content": {
               "image/svg+xml": {
                "schema": {
                 "type": "string"
                }
               },
               "text/css": {
                "schema": {
                 "type": "string"
                }
               },
               "text/javascript": {
                "schema": {
                 "type": "string"
                }
               }
              },
              "description": "A style sheet, script or image of the web UI"
             },
             "304": {
              "description": "Not modified (If-None-Match names the asset's ETag)"
             },
             "404": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "No such asset"
             }
            },
            "summary": "An asset of the web UI"
           }
          }
         }
        }
        """#
}
