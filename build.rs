//! Compiles the protocol definitions in `proto/` into Rust with protox (a pure-Rust protobuf
//! compiler, so building needs no `protoc`) and tonic-prost-build. The generated modules are
//! included privately by `src/plugin/proto.rs`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    const PROTOS: [&str; 2] = ["proto/tfplugin6.proto", "proto/go_plugin.proto"];
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    // Clients are generated too: the integration tests in tests/ include the same file to
    // talk to the real binary. The library never names them, so they cost nothing there.
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(descriptors)?;
    Ok(())
}
