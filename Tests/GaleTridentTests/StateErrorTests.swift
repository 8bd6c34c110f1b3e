import Gale
import GaleTrident
import Testing

@Suite struct StateErrorTests {
    @Test func descriptionsNameWhatIsAtFault() {
        #expect(
            StateError.cannotOpen(path: "/var/gale/state.sqlite", reason: "the path is a directory").description
                == "cannot open state database [/var/gale/state.sqlite]: the path is a directory"
        )
        #expect(StateError.invalidName(name: "a\nb", reason: "r").description.contains(#""a\nb""#))
        #expect(
            StateError.invalidPartition(stateName: "counts", partition: 3, partitions: 2).description
                == "state [counts]: partition 3 is outside 0..<2"
        )
    }

    @Test func anUpdateFailureNamesTheKeyTypesNotTheValues() {
        struct Refused: Error, CustomStringConvertible {
            var description: String { "refused" }
        }
        let description = StateError.updateFailed(key: ["secret", 42], txid: 9, underlying: Refused()).description
        #expect(description == "state update at txid 9 failed for a key of types [string, int]: refused")
        #expect(!description.contains("secret"))
    }
}
