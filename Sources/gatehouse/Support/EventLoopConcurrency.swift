import Atomics
import CGatehouseRuntime
import NIOCore
import NIOPosix

/// Runs Swift concurrency's global executor on NIO's shared event loops (the ones the gateway's
/// server and upstream client use), so a request's tasks stay on the thread of its connection
/// instead of hopping between a separate thread pool and the network threads.
///
/// NIO's own takeover (`NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor`)
/// runs each job isolated to the event loop's serial executor; every call into a nonisolated async
/// function then has to switch back to the generic executor, one more trip through the loop's queue
/// (about sixty per proxied request). Here a job runs exactly as the default global executor runs
/// it, on the generic executor, just on an event loop thread: those switches cost nothing and only
/// real suspensions go through the loop.
enum EventLoopConcurrency {
    private typealias EnqueueHook = @convention(thin) (UnownedJob, @convention(thin) (UnownedJob) -> Void) -> Void

    /// The runtime's generic executor (`SerialExecutorRef::generic()`: no identity, no witness
    /// table), which the default global executor passes to `swift_job_run`.
    private static let generic: UnownedSerialExecutor = unsafeBitCast((UInt(0), UInt(0)), to: UnownedSerialExecutor.self)

    /// Installs the hook (once, early). Returns false when the executor reference has a layout this
    /// code does not know or another hook is installed; the default global executor then stays.
    static func install() -> Bool {
        guard MemoryLayout<UnownedSerialExecutor>.size == 2 * MemoryLayout<UInt>.size else { return false }
        // The hook's slot, taken at link time: `dlsym` finds no symbol of a runtime linked in
        // (`--static-swift-stdlib`).
        let slot = UnsafeAtomic<UnsafeRawPointer?>(
            at: UnsafeMutableRawPointer(gatehouse_task_enqueue_global_hook_slot())
                .assumingMemoryBound(to: UnsafeRawPointer?.AtomicRepresentation.self))
        return withUnsafeTemporaryAllocation(of: EnqueueHook.self, capacity: 1) { hook -> Bool in
            hook.baseAddress!.initialize(to: { job, _ in
                // The loop of this thread when it is one of the group's: no thread hop.
                MultiThreadedEventLoopGroup.singleton.any().execute { job.runSynchronously(on: EventLoopConcurrency.generic) }
            })
            return hook.baseAddress!.withMemoryRebound(to: UnsafeRawPointer.self, capacity: 1) { pointer in
                slot.compareExchange(expected: nil, desired: pointer.pointee, ordering: .sequentiallyConsistent).exchanged
            }
        }
    }
}
