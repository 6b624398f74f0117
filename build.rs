//! Compiles the protocol definitions in `proto/` into Rust with protox (a pure-Rust protobuf
//! compiler, so building needs no `protoc`) and tonic-prost-build. The generated modules are
//! included privately by `src/plugin/proto.rs`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    hot_text_layout();
    packed_relative_relocations();
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

/// Links the provider binary with `-z pack-relative-relocs` (DT_RELR): its ~38,000 relative
/// relocations then take ~10 KB instead of ~900 KB, which the dynamic loader reads at every
/// start and which stay resident in each of the several provider processes Terraform runs per
/// command (about 1 MiB less peak RSS). The binary then needs glibc 2.36 or newer (the
/// `GLIBC_ABI_DT_RELR` version; rust-lld adds that requirement without checking the C
/// library), so it is only used for a native Linux GNU build whose glibc has it.
/// `ZKKAFKA_RELR=0` builds without it.
fn packed_relative_relocations() {
    println!("cargo:rerun-if-env-changed=ZKKAFKA_RELR");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let native = var("HOST") == var("TARGET");
    let linux_gnu = var("CARGO_CFG_TARGET_OS") == "linux" && var("CARGO_CFG_TARGET_ENV") == "gnu";
    let wanted = var("ZKKAFKA_RELR") != "0";
    if native && linux_gnu && wanted && host_glibc_has_relr() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the build machine's glibc is 2.36 or newer (`getconf GNU_LIBC_VERSION` prints
/// "glibc 2.36"). Anything unexpected means no.
fn host_glibc_has_relr() -> bool {
    let Ok(out) = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
    else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    matches!(
        (parts.next().flatten(), parts.next().flatten()),
        (Some(major), Some(minor)) if (major, minor) >= (2, 36)
    )
}
