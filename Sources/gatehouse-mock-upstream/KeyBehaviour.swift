import GatehouseCore

/// What the model routes do for one credential, as a test set it with `POST /admin/keys`.
struct KeyBehaviour: Sendable, Equatable {
    /// Answer 401 with invalid-key wording.
    var reject = false
    /// Answer this status with the wire's error body (or ``body``).
    var status: Int?
    /// The `Retry-After` header sent with ``status``, verbatim (seconds or an HTTP date).
    var retryAfter: String?
    /// A raw body sent with ``status`` instead of the wire's error body.
    var body: String?
    /// Delay before the response head.
    var delayMilliseconds = 0
    /// Delay between the events of a streamed answer (and before its first), to see them flushed one by one.
    var eventDelayMilliseconds = 0
    /// Send this many events of a streamed answer (half the body of a plain one), then drop the connection.
    var cutAfterEvents: Int?
    /// Send this many events of a streamed answer, never its final one, then end the answer cleanly
    /// (a stream that ends without its final event).
    var endAfterEvents: Int?
    /// How many more requests of the key get this behaviour; `nil` is every request.
    var remaining: Int?

    /// The JSON fields of `POST /admin/keys`, besides `key`.
    static let fields = [
        "key", "reject", "status", "retryAfter", "body", "delayMs", "eventDelayMs", "cutAfterEvents", "endAfterEvents", "times",
    ]

    /// Reads `{"key": "K", "status": 429, "retryAfter": "2", ...}`.
    /// - Throws: `JSONFieldError` naming the field that is wrong or unknown.
    static func parse(_ value: JSONValue) throws(JSONFieldError) -> (key: String, behaviour: KeyBehaviour) {
        var reader = try JSONFieldReader(value, path: "")
        guard let key = try reader.string("key", nonEmpty: true) else {
            throw JSONFieldError(field: "key", reason: "required: the credential this behaviour is for")
        }
        var behaviour = KeyBehaviour()
        behaviour.reject = try reader.bool("reject") ?? false
        if let status = try reader.int("status") {
            guard (100...599).contains(status) else {
                throw JSONFieldError(field: "status", reason: "expected an HTTP status, found \(status)")
            }
            behaviour.status = Int(status)
        }
        if let retryAfter = reader.value("retryAfter") {
            if let text = retryAfter.stringValue {
                behaviour.retryAfter = text
            } else if let seconds = retryAfter.intValue {
                behaviour.retryAfter = String(seconds)
            } else {
                throw JSONFieldError(field: "retryAfter", reason: "expected seconds or an HTTP date, found \(retryAfter.typeName)")
            }
        }
        behaviour.body = try reader.string("body")
        behaviour.delayMilliseconds = try nonNegative(&reader, "delayMs") ?? 0
        behaviour.eventDelayMilliseconds = try nonNegative(&reader, "eventDelayMs") ?? 0
        behaviour.cutAfterEvents = try nonNegative(&reader, "cutAfterEvents")
        behaviour.endAfterEvents = try nonNegative(&reader, "endAfterEvents")
        behaviour.remaining = try nonNegative(&reader, "times")
        try reader.rejectUnknownKeys(known: fields)
        return (key, behaviour)
    }

    private static func nonNegative(_ reader: inout JSONFieldReader, _ key: String) throws(JSONFieldError) -> Int? {
        guard let value = try reader.int(key) else { return nil }
        guard value >= 0 else { throw JSONFieldError(field: key, reason: "must not be negative") }
        return Int(value)
    }

    /// The status an answer under this behaviour gets instead of 200, if any.
    var errorStatus: Int? {
        reject ? 401 : status
    }
}

extension [String: KeyBehaviour] {
    /// The behaviour for one request of `key`, counting it against `times`: the entry goes once used up.
    mutating func take(for key: String) -> KeyBehaviour? {
        guard var behaviour = self[key] else { return nil }
        if let remaining = behaviour.remaining {
            if remaining <= 1 {
                self[key] = nil
                if remaining == 0 { return nil }
            } else {
                behaviour.remaining = remaining - 1
                self[key] = behaviour
            }
        }
        return behaviour
    }
}
