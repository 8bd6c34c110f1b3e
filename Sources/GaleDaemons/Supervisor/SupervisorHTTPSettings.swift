public import GaleCoordination

extension GaleConfig {
    /// The certificate and key the supervisor's HTTP endpoint serves HTTPS with: `tls.cert.file`
    /// and `tls.key.file` when both are set; `nil` when neither is (plain HTTP).
    /// - Throws: one of the two set without the other, or a file that cannot be used
    ///   (unreadable, not PEM, a key readable by other users or not matching the certificate,
    ///   an expired certificate): one line naming the key and the file.
    public func supervisorHTTPTLS() throws(ConfigError) -> HTTPServerTLS? {
        let certificate = text("tls.cert.file")
        let key = text("tls.key.file")
        switch (certificate, key) {
        case (nil, nil):
            return nil
        case (let certificate?, let key?):
            do {
                return try HTTPServerTLS(certificateFile: certificate, keyFile: key)
            } catch {
                let name = error.file == key && error.file != certificate ? "tls.key.file" : "tls.cert.file"
                throw ConfigError("\(label(name)): \(error.reason)")
            }
        case (.some, nil):
            throw ConfigError(
                "\(label("tls.cert.file")) is set but tls.key.file is not: the supervisor serves its HTTP endpoint "
                    + "over HTTPS with both (docs/security.md)"
            )
        case (nil, .some):
            throw ConfigError(
                "\(label("tls.key.file")) is set but tls.cert.file is not: the supervisor serves its HTTP endpoint "
                    + "over HTTPS with both (docs/security.md)"
            )
        }
    }
}
