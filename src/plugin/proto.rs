//! The generated protobuf types and gRPC stubs (see `build.rs`). Private to `plugin/`: the
//! rest of the crate speaks the native types in `framework::rpc` and `tfvalue`.

#![allow(
    unreachable_pub,
    dead_code,
    missing_docs,
    rust_2018_idioms,
    clippy::all,
    clippy::unwrap_used
)]

/// Terraform plugin protocol 6 (`proto/tfplugin6.proto`).
pub(crate) mod tfplugin6 {
    include!(concat!(env!("OUT_DIR"), "/tfplugin6.rs"));
}

/// go-plugin's controller and stdio services (`proto/go_plugin.proto`).
pub(crate) mod go_plugin {
    include!(concat!(env!("OUT_DIR"), "/plugin.rs"));
}
