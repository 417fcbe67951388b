import Foundation
import TestSupport
import Testing

/// The Python client's own tests (clients/python/tests, standard library `unittest`), each against a live
/// `memp serve` of the memp built next to this test bundle, the example agent loop included.
@Suite struct PythonClientTests {
    static let tests = ServeProcess.repository.appendingPathComponent("clients/python/tests").path

    static let pythonAvailable = ChildProcess.succeeds(["python3", "-c", "import unittest"])

    @Test(.enabled(if: pythonAvailable, "needs python3"))
    func clientTestsPassAgainstALiveServer() async throws {
        let result = try await ChildProcess.run(
            "/usr/bin/env", ["python3", "-m", "unittest", "discover", "-v", "-s", Self.tests],
            environment: ["MEMP": try ChildProcess.mempExecutable()])
        #expect(result.status == 0, "\(result.errors)")
        // unittest reports on standard error; a class skipped for want of memp would say "skipped".
        let lines = result.errors.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("Ran 6 tests in ") } && lines.contains("OK"), "\(result.errors)")
        #expect(!result.errors.contains("skipped"), "\(result.errors)")
        #expect(result.errors.contains("test_agent_loop_stores_its_successes"))
    }
}
