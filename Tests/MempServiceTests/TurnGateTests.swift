import Synchronization
import Testing

@testable import MempService

/// The gate the tasks of batch lookups pass one turn each (hostile run 22, finding 213).
@Suite struct TurnGateTests {
    /// Who entered a gate, in order, and how many were inside it at most.
    final class Entries: Sendable {
        let order = Mutex<[Int]>([])
        let inside = Mutex((now: 0, most: 0))

        /// Takes a turn of `gate` as operation `number`, holding it until `signal` finishes when one is given.
        func turn(_ number: Int, of gate: TurnGate, holdingUntil signal: AsyncStream<Void>?) async throws -> Int {
            try await gate.withTurn { () throws(ServiceError) -> Int in
                inside.withLock {
                    $0.now += 1; $0.most = max($0.most, $0.now)
                }
                order.withLock { $0.append(number) }
                if let signal { for await _ in signal {} }
                inside.withLock { $0.now -= 1 }
                return number
            }
        }

        /// Starts operation 0 on `gate`, holding its turn until `release` finishes, once it is in.
        func holdFirstTurn(of gate: TurnGate) async -> (
            operation: Task<Int, any Error>, release: AsyncStream<Void>.Continuation
        ) {
            let (held, release) = AsyncStream<Void>.makeStream()
            let operation = Task { try await turn(0, of: gate, holdingUntil: held) }
            while order.withLock({ $0 }) != [0] { await Task.yield() }
            return (operation, release)
        }
    }

    /// With the one turn held, later arrivals wait, and get it one at a time in the order they came.
    @Test func turnsGoOneAtATimeInOrderOfArrival() async throws {
        let gate = TurnGate(width: 1)
        let entries = Entries()
        let (first, release) = await entries.holdFirstTurn(of: gate)
        var later: [Task<Int, any Error>] = []
        for number in 1...3 {
            later.append(Task { try await entries.turn(number, of: gate, holdingUntil: nil) })
            while gate.waiting < number { await Task.yield() }
        }
        #expect(entries.order.withLock { $0 } == [0])
        release.finish()
        #expect(try await first.value == 0)
        for (index, task) in later.enumerated() { #expect(try await task.value == index + 1) }
        #expect(entries.order.withLock { $0 } == [0, 1, 2, 3])
        #expect(entries.inside.withLock { $0.most } == 1 && gate.waiting == 0)
    }

    /// A gate of width 2 lets a second operation in while the first holds its turn.
    @Test func aWiderGateLetsAsManyIn() async throws {
        let gate = TurnGate(width: 2)
        let entries = Entries()
        let (holding, release) = await entries.holdFirstTurn(of: gate)
        #expect(try await entries.turn(1, of: gate, holdingUntil: nil) == 1)
        #expect(entries.inside.withLock { $0.most } == 2 && gate.waiting == 0)
        release.finish()
        #expect(try await holding.value == 0)
        #expect(TurnGate(width: 0).width == 1)
    }
}
