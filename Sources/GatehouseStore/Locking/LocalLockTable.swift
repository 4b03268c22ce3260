import Synchronization

/// Orders the tasks of this process that want the same file lock, first come first served, so that
/// they queue here instead of polling the file lock against each other.
final class LocalLockTable: Sendable {
    private struct Entry {
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// Keys that are held; a key's entry lists the tasks waiting for it.
    private let state = Mutex<[String: Entry]>([:])

    static let shared = LocalLockTable()

    /// Waits until `key` is free and takes it.
    func acquire(_ key: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { table -> Bool in
                if table[key] == nil {
                    table[key] = Entry()
                    return true
                }
                table[key]!.waiters.append(continuation)
                return false
            }
            if acquired { continuation.resume() }
        }
    }

    /// Releases `key`, handing it to the next waiter if there is one.
    func release(_ key: String) {
        let next = state.withLock { table -> CheckedContinuation<Void, Never>? in
            guard var entry = table[key] else { return nil }
            if entry.waiters.isEmpty {
                table[key] = nil
                return nil
            }
            let next = entry.waiters.removeFirst()
            table[key] = entry
            return next
        }
        next?.resume()
    }
}
