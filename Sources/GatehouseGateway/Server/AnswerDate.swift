import GatehouseCore
import GatehouseStore
import Synchronization

/// The `Date` header of the model routes' answers, formatted once a second.
enum AnswerDate {
    private static let cached = Mutex<(second: Int64, text: String)>((-1, ""))

    static func now() -> String {
        let second = WallClock.nowMillis() / 1000
        return cached.withLock { cached in
            if cached.second != second { cached = (second, HTTPDate.format(millis: second * 1000)) }
            return cached.text
        }
    }
}
