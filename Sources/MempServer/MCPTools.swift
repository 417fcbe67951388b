import Foundation
import MCP
import MempService
import RetrievalCore

/// Memp's MCP tools: an MCP ``MCP/Server`` whose five tools call a ``MemoryService``.
///
/// Each tool's arguments are turned into the JSON body of the matching HTTP route, so both front ends validate
/// requests the same way; errors come back as tool results with `isError` and the service's message.
enum MCPTools {
    static let storeProperty: Value = [
        "type": "string",
        "description":
            "The store to use, when the server serves several (one per agent, team or project); omit it otherwise.",
    ]

    static let filtersProperty: Value = [
        "type": "object",
        "description": "Optional filters.",
        "properties": [
            "sources": [
                "type": "array", "items": ["type": "string"], "description": "Only procedures from these sources.",
            ],
            "labels": [
                "type": "object", "additionalProperties": ["type": "string"],
                "description": "Only procedures carrying every one of these labels.",
            ],
            "includeDeprecated": ["type": "boolean", "description": "Also return procedures that kept failing."],
            "minSimilarity": ["type": "number", "description": "Drop procedures less similar than this (-1…1)."],
        ],
    ]

    static let tools: [Tool] = [
        Tool(
            name: "lookup_procedures",
            description: """
                Find procedures that worked for tasks like the one you are about to do. Call it before starting a \
                task; follow the most relevant procedure, adapting it to the details of your task. Each procedure \
                has a memory ID: after the task, call record_outcome with the IDs you used.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "task": ["type": "string", "description": "The task you are about to do, in full."],
                    "k": ["type": "integer", "minimum": 1, "description": "How many procedures (default 5)."],
                    "mode": [
                        "type": "string", "enum": ["hybrid", "query", "keyword", "bm25", "random"],
                        "description": "How to rank procedures (default hybrid).",
                    ],
                    "filters": filtersProperty,
                    "store": storeProperty,
                ],
                "required": ["task"],
            ],
            annotations: .init(readOnlyHint: true, openWorldHint: false)),
        Tool(
            name: "record_outcome",
            description: """
                Report whether a task that used some procedures succeeded. Procedures that keep failing stop being \
                offered; those that work rank as proven. Call it once per finished task.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "memories": [
                        "type": "array", "items": ["type": "string"], "minItems": 1,
                        "description": "The memory IDs of the procedures you used.",
                    ],
                    "success": ["type": "boolean", "description": "Whether the task succeeded."],
                    "trajectory": [
                        "type": "string",
                        "description": """
                        The ID of your attempt, if you store it (add_trajectory): the store then learns which \
                        procedures led to success for which tasks.
                        """,
                    ],
                    "store": storeProperty,
                ],
                "required": ["memories", "success"],
            ],
            annotations: .init(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false)
        ),
        Tool(
            name: "add_trajectory",
            description: """
                Store how you did a task, step by step, so that you or other agents can reuse it: it becomes a \
                procedure that lookup_procedures can return.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "trajectory": [
                        "type": "object",
                        "properties": [
                            "id": ["type": "string", "description": "A unique ID for this attempt."],
                            "task": ["type": "string", "description": "The task, in full."],
                            "steps": [
                                "type": "array",
                                "items": [
                                    "type": "object",
                                    "properties": [
                                        "action": ["type": "string"], "observation": ["type": "string"],
                                    ],
                                    "required": ["action"],
                                ],
                            ],
                            "outcome": [
                                "type": "object",
                                "properties": ["success": ["type": "boolean"], "reward": ["type": "number"]],
                            ],
                            "labels": ["type": "object", "additionalProperties": ["type": "string"]],
                            "source": ["type": "string"],
                        ],
                        "required": ["id", "task", "steps"],
                    ],
                    "duplicates": [
                        "type": "string", "enum": ["refuse", "skip", "replace"],
                        "description": "What to do when the ID is stored already (default refuse).",
                    ],
                    "store": storeProperty,
                ],
                "required": ["trajectory"],
            ],
            annotations: .init(readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false)
        ),
        Tool(
            name: "show_memory",
            description: "Show one stored procedure in full: its task, script, steps, counters and history facts.",
            inputSchema: [
                "type": "object",
                "properties": ["id": ["type": "string", "description": "The memory ID."], "store": storeProperty],
                "required": ["id"],
            ],
            annotations: .init(readOnlyHint: true, openWorldHint: false)),
        Tool(
            name: "memory_stats",
            description: "Count the trajectories and procedures the memory holds.",
            inputSchema: ["type": "object", "properties": ["store": storeProperty]],
            annotations: .init(readOnlyHint: true, openWorldHint: false)),
    ]

    /// A new MCP server offering the tools over `service`.
    static func makeServer(service: MemoryService) async -> Server {
        let server = Server(
            name: "memp", version: MempVersion.current,
            instructions: """
                Procedural memory: call lookup_procedures before a task, follow what fits, then record_outcome \
                with the memory IDs you used; add_trajectory stores a new way of doing a task.
                """,
            capabilities: .init(tools: .init(listChanged: false)))
        await server.withMethodHandler(ListTools.self) { _ in ListTools.Result(tools: tools) }
        await server.withMethodHandler(CallTool.self) { parameters in
            await call(parameters.name, arguments: parameters.arguments ?? [:], service: service)
        }
        return server
    }

    /// Runs one tool; failures are results with `isError` set, so the model sees what to fix.
    static func call(_ name: String, arguments: [String: Value], service: MemoryService) async -> CallTool.Result {
        var arguments = arguments
        do {
            let store = try storeName(arguments.removeValue(forKey: "store"))
            switch name {
            case "lookup_procedures":
                let response = try await service.lookup(try json(arguments), store: store)
                return try CallTool.Result(
                    content: [.text(text: ProcedureText.render(response.hits), annotations: nil, _meta: nil)],
                    structuredContent: .structuredContent(response))
            case "record_outcome":
                let response = try await service.feedback(try json(arguments), store: store)
                return try CallTool.Result(
                    content: [content(ProcedureText.render(response.memories), warnings: response.warnings)],
                    structuredContent: .structuredContent(response))
            case "add_trajectory":
                try refuseOtherArguments(arguments, of: name, accepted: ["trajectory", "duplicates"])
                guard let trajectory = arguments["trajectory"] else {
                    throw ServiceError.invalidBody(field: "trajectory", reason: "is missing")
                }
                var parameters: [String: String] = [:]
                if let duplicates = arguments["duplicates"], duplicates != .null {
                    guard let duplicates = duplicates.stringValue else {
                        throw ServiceError.invalidBody(field: "duplicates", reason: "must be refuse, skip or replace")
                    }
                    parameters["duplicates"] = duplicates
                }
                let response = try await service.addTrajectories(
                    try json(trajectory), store: store, parameters: parameters)
                let report = response.report
                return try CallTool.Result(
                    content: [
                        content(
                            "Stored \(report.imported) trajectory (\(report.replaced) replaced, "
                                + "\(report.skippedDuplicates) duplicates skipped) in store \(response.store).",
                            warnings: response.warnings)
                    ],
                    structuredContent: .structuredContent(response))
            case "show_memory":
                try refuseOtherArguments(arguments, of: name, accepted: ["id"])
                guard let id = arguments["id"]?.stringValue else {
                    throw ServiceError.invalidBody(field: "id", reason: "must be a memory ID (a string)")
                }
                let response = try await service.memory(id: id, store: store)
                let memory = response.memory
                let hit = LookupHit(memory: memory, score: 0, outcome: response.outcome, explanation: "")
                return try CallTool.Result(
                    content: [
                        .text(
                            text: ProcedureText.render([hit]) + "\nStatus: \(memory.status.rawValue); revision "
                                + "\(memory.revision).", annotations: nil, _meta: nil)
                    ],
                    structuredContent: .structuredContent(response))
            case "memory_stats":
                try refuseOtherArguments(arguments, of: name, accepted: [])
                let response = try await service.stats(store: store)
                let statistics = response.statistics
                return try CallTool.Result(
                    content: [
                        content(
                            "Store \(response.store): \(statistics.memories) procedures "
                                + "(\(statistics.activeMemories) active, \(statistics.deprecatedMemories) deprecated) "
                                + "from \(statistics.trajectories) trajectories.", warnings: response.warnings)
                    ],
                    structuredContent: .structuredContent(response))
            default:
                throw ServiceError.invalidArgument(
                    name: "tool",
                    reason: "no tool is called \(name); the tools are "
                        + tools.map(\.name).joined(separator: ", "))
            }
        } catch let error as ServiceError {
            return failure(error)
        } catch {
            return failure(.storeFailure(reason: "\(error)"))
        }
    }

    /// The `store` argument: absent or null for the server's only store, else a store's name.
    private static func storeName(_ value: Value?) throws(ServiceError) -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let name)?: return name
        default: throw .invalidBody(field: "store", reason: "must be a store's name (a string)")
        }
    }

    /// Refuses an argument the tool doesn't take, as the service refuses a field its requests don't have: ignored,
    /// it would leave the call answered as if it were absent. (The arguments of lookup_procedures and
    /// record_outcome are service requests, whose decoders check their fields.)
    private static func refuseOtherArguments(
        _ arguments: [String: Value], of tool: String, accepted: [String]
    ) throws(ServiceError) {
        guard let unknown = arguments.keys.sorted().first(where: { !accepted.contains($0) }) else { return }
        throw .invalidBody(
            field: unknown,
            reason: "is not an argument of \(tool) (its arguments: \((accepted + ["store"]).joined(separator: ", ")))")
    }

    /// A result's text: `text`, then one line for each warning of the answer.
    private static func content(_ text: String, warnings: [ServiceWarning]?) -> Tool.Content {
        let lines = [text] + (warnings ?? []).map { "Warning: \($0.message)" }
        return .text(text: lines.joined(separator: "\n"), annotations: nil, _meta: nil)
    }

    private static func failure(_ error: ServiceError) -> CallTool.Result {
        CallTool.Result(
            content: [.text(text: "\(error.code): \(error.description)", annotations: nil, _meta: nil)],
            isError: true)
    }

    private static func json(_ value: some Encodable) throws -> Data { try JSONEncoder().encode(value) }
}
