import CLibCrypto
import Foundation

/// SHA-256 through OpenSSL's libcrypto (EVP), as lowercase hex.
public enum SHA256Digest {
    /// The digest of `bytes`.
    public static func hex(of bytes: some Collection<UInt8>) -> String {
        let array = Array(bytes)
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        array.withUnsafeBytes { input in
            _ = EVP_Digest(input.baseAddress, input.count, &digest, &length, EVP_sha256(), nil)
        }
        return hexString(digest)
    }

    /// The digest of the file at `path`, read in 1 MiB chunks.
    /// - Throws: ``SHA256Error`` naming the file when it cannot be read.
    public static func hex(ofFile path: String) throws -> String {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw SHA256Error.cannotRead(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        guard let context = EVP_MD_CTX_new() else {
            throw SHA256Error.cannotRead(path: path, reason: "no digest context")
        }
        defer { EVP_MD_CTX_free(context) }
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SHA256Error.cannotRead(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            buffer.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress, n) }
        }
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &digest, &length)
        return hexString(digest)
    }

    /// `bytes` as lowercase hex.
    public static func hexString(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A file that could not be hashed.
public enum SHA256Error: Error, CustomStringConvertible {
    case cannotRead(path: String, reason: String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let reason): "cannot read \(path): \(reason)"
        }
    }
}
