/// Header names compared in any letter case without a lowercase copy: clients send most names in
/// lowercase, some capitalized (`Content-Type`), and a copy per header and request adds up.
public enum HeaderName {
    /// Whether `name` is `lowercase` in any ASCII letter case.
    @inlinable
    public static func matches(_ name: String, _ lowercase: StaticString) -> Bool {
        name.utf8.count == lowercase.utf8CodeUnitCount && startsWith(name.utf8, lowercase)
    }

    /// Whether `name` begins with `lowercase` in any ASCII letter case.
    @inlinable
    public static func hasPrefix(_ name: String, _ lowercase: StaticString) -> Bool {
        name.utf8.count >= lowercase.utf8CodeUnitCount && startsWith(name.utf8, lowercase)
    }

    /// `name` in lowercase; a name that is (most are) is not copied.
    @inlinable
    public static func lowercased(_ name: String) -> String {
        name.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") } ? name.lowercased() : name
    }

    /// Whether `bytes` begin with `lowercase` in any ASCII letter case.
    @inlinable
    public static func startsWith(_ bytes: some Sequence<UInt8>, _ lowercase: StaticString) -> Bool {
        let target = UnsafeBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        var index = 0
        for byte in bytes {
            guard index < target.count else { return true }
            let folded = byte &- UInt8(ascii: "A") < 26 ? byte | 0x20 : byte
            guard folded == target[index] else { return false }
            index += 1
        }
        return index == target.count
    }
}
