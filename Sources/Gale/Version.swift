/// The version of Gale this binary was built from (`Gale.version`): `gale version` prints it,
/// and nimbus serves its own in `GET /api/v1/health`.
public let version = "0.15.0"
