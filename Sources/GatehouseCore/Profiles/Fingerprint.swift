import Crypto

/// A short, stable, non-reversible name for a secret: the first 8 hex digits of its SHA-256.
///
/// Listings, logs and errors show this instead of the secret, so a person can tell two keys apart
/// (or match one against `printf %s "$KEY" | sha256sum`) without the key ever being printed.
public enum Fingerprint {
    /// The fingerprint of a secret.
    public static func of(_ secret: String) -> String {
        String(sha256Hex(secret).prefix(8))
    }

    /// The full lowercase hex SHA-256 of a string's UTF-8 bytes.
    public static func sha256Hex(_ text: String) -> String {
        sha256Hex(bytes: Array(text.utf8))
    }

    /// The full lowercase hex SHA-256 of bytes.
    public static func sha256Hex(bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// Bytes as lowercase hex.
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
