//! Transport: go-plugin handshake, mTLS, gRPC services, protobuf <-> native conversion.

/// Entry point of the binary.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::FAILURE
}
