//! The provider binary: start logging, serve the provider over the go-plugin protocol.

fn main() -> std::process::ExitCode {
    zkkafka::plugin::main()
}
