import Testing

@testable import ProceduralMemory

@Suite struct TranscriptTests {
    @Test func splitsActionObservationTranscripts() {
        let text = """
            Thought: I should look for the mug.
            Action: go to countertop 1
            Observation: On the countertop 1, you see a mug 1.
            Act 2: take mug 1 from countertop 1
            Obs 2: You pick up the mug 1.
            > go to microwave 1
            The microwave 1 is closed.
            You see nothing else.
            """
        #expect(
            TrajectoryRecordParser.steps(fromTranscript: text) == [
                Step(action: "think: I should look for the mug."),
                Step(action: "go to countertop 1", observation: "On the countertop 1, you see a mug 1."),
                Step(action: "take mug 1 from countertop 1", observation: "You pick up the mug 1."),
                Step(
                    action: "go to microwave 1",
                    observation: "The microwave 1 is closed.\nYou see nothing else."),
            ])
    }

    @Test func unmarkedTranscriptsBecomeOneActionPerLine() {
        #expect(
            TrajectoryRecordParser.steps(fromTranscript: "book a flight\n\nreserve the hotel\n")
                == [Step(action: "book a flight"), Step(action: "reserve the hotel")])
    }
}
