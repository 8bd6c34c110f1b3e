import Foundation

extension NimbusOpenAPI {
    /// The routes of a topology's controls and samples (`log-level`, `debug`, `samples`), merged
    /// into ``base``.
    static let controls = #"""
        {
         "components": {
          "schemas": {
           "Controls": {
            "properties": {
             "logLevels": {
              "items": {
               "$ref": "#/components/schemas/LogLevelControl"
              },
              "type": "array"
             },
             "sampling": {
              "items": {
               "$ref": "#/components/schemas/SamplingControl"
              },
              "type": "array"
             }
            },
            "required": [
             "logLevels",
             "sampling"
            ],
            "type": "object"
           },
           "DebugRequest": {
            "properties": {
             "component": {
              "type": "string"
             },
             "percent": {
              "description": "Share of the component's tuples sampled; 0 stops",
              "maximum": 100,
              "minimum": 0,
              "type": "number"
             },
             "seconds": {
              "description": "How long; null or absent: until changed",
              "exclusiveMinimum": true,
              "minimum": 0,
              "nullable": true,
              "type": "number"
             }
            },
            "required": [
             "component",
             "percent"
            ],
            "type": "object"
           },
           "LogLevelControl": {
            "properties": {
             "component": {
              "description": "Absent: every logger",
              "type": "string"
             },
             "level": {
              "enum": [
               "trace",
               "debug",
               "info",
               "notice",
               "warning",
               "error",
               "critical"
              ],
              "type": "string"
             },
             "until": {
              "description": "Seconds since 1970; absent: until changed",
              "type": "number"
             }
            },
            "required": [
             "level"
            ],
            "type": "object"
           },
           "LogLevelRequest": {
            "properties": {
             "component": {
              "description": "A component of the topology; null or absent: every logger",
              "nullable": true,
              "type": "string"
             },
             "level": {
              "description": "A swift-log level, or reset for the loggers' own level",
              "enum": [
               "trace",
               "debug",
               "info",
               "notice",
               "warning",
               "error",
               "critical",
               "reset"
              ],
              "type": "string"
             },
             "seconds": {
              "description": "How long; null or absent: until changed",
              "exclusiveMinimum": true,
              "minimum": 0,
              "nullable": true,
              "type": "number"
             }
            },
            "required": [
             "level"
            ],
            "type": "object"
           },
           "Sample": {
            "properties": {
             "component": {
              "type": "string"
             },
             "host": {
              "type": "string"
             },
             "port": {
              "type": "integer"
             },
             "stream": {
              "type": "string"
             },
             "task": {
              "type": "integer"
             },
             "time": {
              "description": "Seconds since 1970",
              "type": "number"
             },
             "values": {
              "description": "The values rendered, at most 200 characters",
              "type": "string"
             }
            },
            "required": [
             "time",
             "component",
             "task",
             "stream",
             "values",
             "host",
             "port"
            ],
            "type": "object"
           },
           "Samples": {
            "properties": {
             "controls": {
              "$ref": "#/components/schemas/Controls"
             },
             "samples": {
              "items": {
               "$ref": "#/components/schemas/Sample"
              },
              "type": "array"
             }
            },
            "required": [
             "controls",
             "samples"
            ],
            "type": "object"
           },
           "SamplingControl": {
            "properties": {
             "component": {
              "type": "string"
             },
             "percent": {
              "exclusiveMinimum": true,
              "maximum": 100,
              "minimum": 0,
              "type": "number"
             },
             "until": {
              "description": "Seconds since 1970; absent: until changed",
              "type": "number"
             }
            },
            "required": [
             "component",
             "percent"
            ],
            "type": "object"
           }
          }
         },
         "paths": {
          "/api/v1/topologies/{name}/debug": {
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
                "$ref": "#/components/schemas/DebugRequest"
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
                 "$ref": "#/components/schemas/Controls"
                }
               }
              },
              "description": "The topology's controls now in force"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "An unknown component, a percent outside 0-100 or bad seconds"
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
            "summary": "Sample a share of a component's tuples (percent 0 stops), for a time or until changed"
           }
          },
          "/api/v1/topologies/{name}/log-level": {
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
                "$ref": "#/components/schemas/LogLevelRequest"
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
                 "$ref": "#/components/schemas/Controls"
                }
               }
              },
              "description": "The topology's controls now in force"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Not a log level, an unknown component or bad seconds"
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
            "summary": "Set the log level of the topology's workers (every logger, or a component's), for a time or until changed"
           }
          },
          "/api/v1/topologies/{name}/samples": {
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
              "description": "Only this component's samples",
              "in": "query",
              "name": "component",
              "required": false,
              "schema": {
               "type": "string"
              }
             }
            ],
            "responses": {
             "200": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Samples"
                }
               }
              },
              "description": "The controls in force and the samples held, oldest first"
             },
             "400": {
              "content": {
               "application/json": {
                "schema": {
                 "$ref": "#/components/schemas/Error"
                }
               }
              },
              "description": "Unknown component"
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
            "summary": "The tuples the topology's workers sampled (the newest 500 per component)"
           }
          }
         }
        }
        """#

    /// `document` with the paths and schemas of `part` added.
    static func merging(_ document: String, _ part: String) -> String {
        guard var root = (try? JSONSerialization.jsonObject(with: Data(document.utf8))) as? [String: Any],
            let more = (try? JSONSerialization.jsonObject(with: Data(part.utf8))) as? [String: Any]
        else { return document }
        var paths = root["paths"] as? [String: Any] ?? [:]
        paths.merge(more["paths"] as? [String: Any] ?? [:]) { $1 }
        root["paths"] = paths
        var components = root["components"] as? [String: Any] ?? [:]
        var schemas = components["schemas"] as? [String: Any] ?? [:]
        schemas.merge((more["components"] as? [String: Any])?["schemas"] as? [String: Any] ?? [:]) { $1 }
        components["schemas"] = schemas
        root["components"] = components
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: root,
                options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            )
        else { return document }
        return String(decoding: data, as: UTF8.self)
    }
}
