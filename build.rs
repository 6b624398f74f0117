//! Compiles the protocol definitions in `proto/` into Rust with protox (a pure-Rust protobuf
//! compiler, so building needs no `protoc`) and tonic-prost-build. The generated modules are
//! included privately by `src/plugin/proto.rs`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    hot_text_layout();
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

/// Links the provider binary with `link/hot-text.ld`, which gathers the functions a znode
/// workload runs at the front of the code so that fewer code pages become resident (see
/// `bench/hot_text.sh`, which generates it). Only the binary, only on Linux (the script is for
/// ELF linkers: rust-lld, GNU ld), and `ZKKAFKA_HOT_TEXT=0` builds without it, to measure.
fn hot_text_layout() {
    const SCRIPT: &str = "link/hot-text.ld";
    println!("cargo:rerun-if-changed={SCRIPT}");
    println!("cargo:rerun-if-env-changed=ZKKAFKA_HOT_TEXT");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    let wanted = std::env::var("ZKKAFKA_HOT_TEXT").map_or(true, |value| value != "0");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SCRIPT);
    if linux && wanted && script.is_file() {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
