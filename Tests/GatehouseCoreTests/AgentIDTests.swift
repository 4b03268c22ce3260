import GatehouseCore
import Testing

@Suite struct AgentIDTests {

    @Test(arguments: ["main", "helper", "helper-2", "code_review", "0", "9lives", "a-b_c-d", String(repeating: "a", count: 64)])
    func acceptsValidIDs(_ id: String) {
        #expect(AgentID.problem(with: id) == nil)
    }

    static let invalid: [(id: String, problemFragment: String)] = [
        ("", "must not be empty"),
        ("Main", "starts with a lowercase letter or a digit"),
        ("-helper", "starts with a lowercase letter or a digit"),
        ("_helper", "starts with a lowercase letter or a digit"),
        (" main", "starts with a lowercase letter or a digit"),
        ("helper bot", "not ' '"),
        ("helperBot", "not 'B'"),
        ("team/helper", "not '/'"),
        ("helper.v2", "not '.'"),
        ("helper:1", "not ':'"),
        ("..", "starts with"),
        ("main\n", "not '\n'"),
        ("agënt", "not 'ë'"),
        (String(repeating: "a", count: 65), "at most 64 characters"),
    ]

    @Test(arguments: invalid)
    func rejectsInvalidIDsSayingWhy(_ id: String, _ problemFragment: String) throws {
        let problem = try #require(AgentID.problem(with: id))
        #expect(problem.contains(problemFragment), "problem was: \(problem)")
    }
}
