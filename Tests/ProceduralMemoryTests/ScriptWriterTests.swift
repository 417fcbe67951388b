import ProceduralMemory
import Testing

@Suite struct ScriptWriterTests {
    @Test func abstractsAnALFWorldTrajectory() async throws {
        let script = try await RuleBasedScriptWriter().script(for: Samples.heatMug)
        // The thought and the no-effect stove step are gone, the mug and the coffee machine are placeholders
        // (with their instance numbers folded in), and the two countertop visits collapse into one step.
        #expect(
            script == """
                Task: heat some [OBJECT1] and put it in [OBJECT2]
                1. go to countertop N for N in 1, 2
                2. take [OBJECT1] from countertop 2
                3. go to microwave 1
                4. heat [OBJECT1] with microwave 1
                5. go to [OBJECT2]
                6. put [OBJECT1] in/on [OBJECT2]
                """)
    }

    @Test func keepsVerbsThatAlsoAppearInTheTask() {
        let script = RuleBasedScriptWriter().abstract(
            task: Samples.cleanApple.task, steps: Samples.cleanApple.steps)
        #expect(script.split(separator: "\n").first == "Task: put a clean [OBJECT1] in [OBJECT2]")
        #expect(script.contains("4. clean [OBJECT1] with sinkbasin 1"))
        #expect(script.contains("7. put [OBJECT1] in/on [OBJECT2]"))
    }

    @Test func matchesPluralTaskWordsAndCollapsesIdenticalRepeats() {
        let steps = [
            Step(action: "look", observation: "You are in the middle of a room."),
            Step(action: "look", observation: "You are in the middle of a room."),
            Step(action: "take keychain 1 from drawer 3", observation: "You pick up the keychain 1."),
            Step(action: "dance", observation: "That's not a verb I recognise."),
        ]
        #expect(
            RuleBasedScriptWriter().abstract(task: "find two keychains", steps: steps)
                == "Task: find two [OBJECT1]\n1. look (2 times)\n2. take [OBJECT1] from drawer 3")
    }

    @Test func customNoEffectPhrases() {
        let writer = RuleBasedScriptWriter(noEffectPhrases: ["BLOCKED"])
        let steps = [
            Step(action: "push door", observation: "blocked by a wall"),
            Step(action: "pull door", observation: "It opens."),
        ]
        #expect(
            writer.abstract(task: "open the door", steps: steps)
                == "Task: open the [OBJECT1]\n1. pull [OBJECT1]")
    }

    @Test func cutsALongSceneDescriptionFromTheTask() {
        let task =
            "Your task is to pick up objects, then place them in their usual locations in the environment. "
            + "You are in the pantry. In one part of the room you see a folding chair, that has nothing on it. "
            + "To the East you see the kitchen."
        let steps = [
            Step(action: "look around", observation: "You are in the pantry."),
            Step(action: "move east", observation: "You are in the kitchen."),
            Step(action: "take chicken wing", observation: "You take the chicken wing."),
            Step(action: "open fridge", observation: "You open the fridge."),
            Step(action: "put chicken wing in fridge", observation: "You put the chicken wing in the fridge."),
        ]
        #expect(
            RuleBasedScriptWriter().abstract(task: task, steps: steps) == """
                Task: your task is to pick up objects then place them in their usual locations in the environment \
                you are in the pantry
                1. look around
                2. move east
                3. take chicken wing
                4. open fridge
                5. put chicken wing in fridge
                """)
    }
}
