import GatehouseCore

/// What a Gatehouse lock sidecar holds: who created it and when.
///
/// `{"pid":N,"createdAt":"ISO-8601","startTime":T,"host":"name","owner":"gatehouse"}`
public struct LockPayload: Sendable, Hashable {
    public var pid: Int32
    public var createdAt: Int64
    /// Field 22 of `/proc/<pid>/stat`, to tell a reused pid apart.
    public var startTime: UInt64?
    public var host: String
    public var owner: String

    /// The owner name Gatehouse writes; sidecars with another owner or shape are foreign.
    public static let gatehouseOwner = "gatehouse"

    /// The payload for this process, now.
    public static func current() -> LockPayload {
        LockPayload(
            pid: ProcessInspector.currentPID, createdAt: WallClock.nowMillis(),
            startTime: ProcessInspector.currentStartTime, host: ProcessInspector.hostName, owner: gatehouseOwner)
    }

    public init(pid: Int32, createdAt: Int64, startTime: UInt64?, host: String, owner: String) {
        self.pid = pid
        self.createdAt = createdAt
        self.startTime = startTime
        self.host = host
        self.owner = owner
    }

    /// Reads a sidecar's content. `nil` means it is not a Gatehouse lock (empty, not JSON, another
    /// tool's format).
    public init?(bytes: [UInt8]) {
        guard let json = try? JSONValue.parse(bytes), json["owner"]?.stringValue == Self.gatehouseOwner,
            let pid = json["pid"]?.intValue, pid > 0, pid <= Int64(Int32.max)
        else { return nil }
        self.pid = Int32(pid)
        self.createdAt = json["createdAt"]?.stringValue.flatMap(ISO8601.parse) ?? 0
        self.startTime = json["startTime"]?.intValue.flatMap { $0 >= 0 ? UInt64($0) : nil }
        self.host = json["host"]?.stringValue ?? ""
        self.owner = Self.gatehouseOwner
    }

    /// The bytes written into the sidecar.
    public var bytes: [UInt8] {
        var object: [String: JSONValue] = [
            "pid": .int(Int64(pid)), "createdAt": .string(ISO8601.format(millis: createdAt)),
            "host": .string(host), "owner": .string(owner),
        ]
        if let startTime { object["startTime"] = .int(Int64(startTime)) }
        return JSONValue.object(object).serialized(pretty: false)
    }
}
