import RetrievalCore
import Testing

@Suite struct DurationTests {
    @Test func convertsToSecondsAndMilliseconds() {
        #expect(Duration.seconds(3).inSeconds == 3)
        #expect(Duration.milliseconds(1500).inSeconds == 1.5)
        #expect(Duration.microseconds(250).inMilliseconds == 0.25)
        #expect(Duration.seconds(2).inMilliseconds == 2000)
        #expect((Duration.seconds(-1) + .milliseconds(250)).inSeconds == -0.75)
        #expect(Duration.nanoseconds(1).inSeconds == 1e-9)
    }
}
