import Logging
import ServiceLifecycle

/// Runs in the background: writes a recorder's queued changes when they are due and announces
/// windows that run out. On graceful shutdown it writes what is left and ends.
public struct HealthFlushService: Service {
    public let recorder: HealthRecorder

    public init(recorder: HealthRecorder) {
        self.recorder = recorder
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if let due = recorder.timeUntilDue(), due <= .zero {
                    try? await recorder.flush()
                    continue
                }
                let nextWindowEnd = recorder.announceEndedWindows()
                let timeout = [recorder.timeUntilDue(), nextWindowEnd, .seconds(60)].compactMap { $0 }.min()!
                await recorder.signal.wait(timeout: max(timeout, .milliseconds(1)))
            }
        } onGracefulShutdown: {
            recorder.signal.signal()
        }
        // Whatever is still queued goes to disk before the process ends.
        do {
            try await recorder.flush()
        } catch {
            recorder.logger.error("could not write health state at shutdown", metadata: ["error": "\(error)"])
        }
    }
}
