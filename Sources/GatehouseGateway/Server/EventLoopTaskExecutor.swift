import NIOCore

/// Runs a task's work on one event loop: the task that serves a model request prefers its client
/// connection's loop, where its upstream connection runs too. The request is then read, sent
/// upstream, answered and relayed on one thread, with no hop to Swift's global pool and back at
/// every `await` (each hop is a wake-up of another thread and a queue round trip).
///
/// Work that may block (file locks, fsyncs, an OAuth refresh) leaves the loop on its own: it runs
/// under `withTaskExecutorPreference(globalConcurrentExecutor)` or on NIO's thread pool.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
