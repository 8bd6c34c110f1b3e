import Gale
import GaleTrident
import Testing

/// One scenario every backing map must play alike: commits in order, then reads.
struct BackingMapCase: Sendable, CustomTestStringConvertible {
    var name: String
    var commits: [(entries: [(key: StateKey, value: StoredValue)], txid: Int64)]
    var probes: [StateKey]
    var expected: [StoredValue?]
    var expectedTxid: Int64?

    var testDescription: String { name }

    static let all: [BackingMapCase] = [
        BackingMapCase(
            name: "an empty map has no entries and no txid",
            commits: [],
            probes: [["a"], [], [.null]],
            expected: [nil, nil, nil],
            expectedTxid: nil
        ),
        BackingMapCase(
            name: "a commit is read back, in key order, with nil for missing and repeated keys answered twice",
            commits: [
                (
                    [
                        (["a"], StoredValue(value: 1, previous: nil, txid: 1)),
                        (["b", 2], StoredValue(value: "two", previous: 0, txid: 1)),
                    ],
                    1
                )
            ],
            probes: [["b", 2], ["missing"], ["a"], ["b", 2]],
            expected: [
                StoredValue(value: "two", previous: 0, txid: 1), nil, StoredValue(value: 1, txid: 1),
                StoredValue(value: "two", previous: 0, txid: 1),
            ],
            expectedTxid: 1
        ),
        BackingMapCase(
            name: "an empty commit records its txid",
            commits: [([(["a"], StoredValue(value: 1, txid: 1))], 1), ([], 2)],
            probes: [["a"]],
            expected: [StoredValue(value: 1, txid: 1)],
            expectedTxid: 2
        ),
        BackingMapCase(
            name: "a later commit replaces its keys and keeps the others",
            commits: [
                ([(["a"], StoredValue(value: 1, txid: 1)), (["b"], StoredValue(value: 10, txid: 1))], 1),
                ([(["a"], StoredValue(value: 2, previous: 1, txid: 2))], 2),
            ],
            probes: [["a"], ["b"]],
            expected: [StoredValue(value: 2, previous: 1, txid: 2), StoredValue(value: 10, txid: 1)],
            expectedTxid: 2
        ),
        BackingMapCase(
            name: "the last entry wins when a commit repeats a key",
            commits: [([(["a"], StoredValue(value: 1, txid: 3)), (["a"], StoredValue(value: 2, txid: 3))], 3)],
            probes: [["a"]],
            expected: [StoredValue(value: 2, txid: 3)],
            expectedTxid: 3
        ),
        BackingMapCase(
            name: "a null previous value differs from none",
            commits: [
                (
                    [
                        (["n"], StoredValue(value: .null, previous: .null, txid: 1)),
                        (["m"], StoredValue(value: 0, txid: 1)),
                    ], 1
                )
            ],
            probes: [["n"], ["m"]],
            expected: [
                StoredValue(value: .null, previous: .null, txid: 1), StoredValue(value: 0, previous: nil, txid: 1),
            ],
            expectedTxid: 1
        ),
        BackingMapCase(
            name: "keys and values of every type, with maps equal whatever their insertion order",
            commits: [
                (
                    [
                        ([.null, true, 1, 1.5, "s", .bytes([0, 255])], StoredValue(value: .bytes([1, 2]), txid: 4)),
                        ([.map(["x": 1, "y": 2])], StoredValue(value: .map(["k": .list([1, "v"])]), txid: 4)),
                        ([], StoredValue(value: .list([]), txid: 4)),
                    ],
                    4
                )
            ],
            probes: [[.map(["y": 2, "x": 1])], [.null, true, 1, 1.5, "s", .bytes([0, 255])], [], [1], ["1"]],
            expected: [
                StoredValue(value: .map(["k": .list([1, "v"])]), txid: 4), StoredValue(value: .bytes([1, 2]), txid: 4),
                StoredValue(value: .list([]), txid: 4), nil, nil,
            ],
            expectedTxid: 4
        ),
        BackingMapCase(
            name: "negative and large txids are kept",
            commits: [([(["a"], StoredValue(value: 1, txid: -5))], .max)],
            probes: [["a"]],
            expected: [StoredValue(value: 1, txid: -5)],
            expectedTxid: .max
        ),
        {
            let keys = (0..<1200).map { [GaleValue.string("word"), GaleValue.int(Int64($0))] }
            return BackingMapCase(
                name: "more keys than one query binds",
                commits: [(keys.map { ($0, StoredValue(value: $0[1], txid: 9)) }, 9)],
                probes: keys.reversed() + [["word", 1200]],
                expected: keys.reversed().map { StoredValue(value: $0[1], txid: 9) } + [nil],
                expectedTxid: 9
            )
        }(),
    ]
}

@Suite struct BackingMapConformanceTests {
    @Test(arguments: BackingFixture.allCases, BackingMapCase.all)
    func backingMapsAgree(fixture: BackingFixture, scenario: BackingMapCase) throws {
        try fixture.withMap { map throws in
            for commit in scenario.commits {
                try map.commit(commit.entries, txid: commit.txid)
            }
            #expect(try map.multiGet(scenario.probes) == scenario.expected)
            #expect(try map.lastCommittedTxid() == scenario.expectedTxid)
        }
    }

    @Test(arguments: BackingFixture.allCases)
    func multiGetOfNoKeysIsEmpty(fixture: BackingFixture) throws {
        try fixture.withMap { map throws in
            #expect(try map.multiGet([]).isEmpty)
        }
    }
}
