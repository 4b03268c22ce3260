import Synchronization

/// Orders the tasks of this process that want the same file lock, first come first served, so that
/// they queue here instead of polling the file lock against each other. A waiter gives up at its
/// deadline or when its task is cancelled.
final class LocalLockTable: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Bool, Never>
    }

    /// Keys that are held; a key's entry lists the tasks waiting for it, in order.
    private let state = Mutex<[String: [Waiter]]>([:])
    private let nextID = Atomic<UInt64>(0)

    static let shared = LocalLockTable()

    /// Waits until `key` is free and takes it. Returns false when `deadline` passed or the task was
    /// cancelled first.
    func acquire(_ key: String, deadline: ContinuousClock.Instant) async -> Bool {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        return await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline)
                self.giveUp(key, id)
            }
            let granted = await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                    let now = state.withLock { table -> Bool in
                        if table[key] == nil {
                            table[key] = []
                            return true
                        }
                        table[key]!.append(Waiter(id: id, continuation: continuation))
                        return false
                    }
                    if now { continuation.resume(returning: true) }
                }
            } onCancel: {
                self.giveUp(key, id)
            }
            group.cancelAll()
            return granted
        }
    }

    /// Removes a waiter that is still waiting and tells it it did not get the lock.
    private func giveUp(_ key: String, _ id: UInt64) {
        let waiter = state.withLock { table -> Waiter? in
            guard let index = table[key]?.firstIndex(where: { $0.id == id }) else { return nil }
            return table[key]!.remove(at: index)
        }
        waiter?.continuation.resume(returning: false)
    }

    /// Releases `key`, handing it to the next waiter if there is one.
    func release(_ key: String) {
        let next = state.withLock { table -> Waiter? in
            guard var waiters = table[key] else { return nil }
            if waiters.isEmpty {
                table[key] = nil
                return nil
            }
            let next = waiters.removeFirst()
            table[key] = waiters
            return next
        }
        next?.continuation.resume(returning: true)
    }
}
