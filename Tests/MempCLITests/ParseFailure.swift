import ArgumentParser

/// The message ArgumentParser prints for `arguments`, which must fail to parse (or `nil` if they parse), so that a
/// test names the exact reason a command line is refused.
func parseFailure<Command: ParsableCommand>(_ command: Command.Type, _ arguments: [String]) -> String? {
    do {
        _ = try Command.parse(arguments)
        return nil
    } catch {
        return Command.message(for: error)
    }
}
