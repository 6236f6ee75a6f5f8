//! Build script: migrations and the split-build marker.

fn main() {
    // `sqlx::migrate!` embeds the migrations at compile time: rebuild when one changes.
    println!("cargo:rerun-if-changed=migrations");

    // `cargo leptos … --split` links the WASM with `--emit-relocs` so it can be cut into chunks.
    // Only then may lazy routes use the wasm-split import (`#[lazy_route]`); any other build
    // (plain `cargo leptos watch`) would ship an import of `__wasm_split_placeholder__` that no
    // browser can resolve, and the page would never hydrate. See `pages::lazy_page!`.
    println!("cargo::rustc-check-cfg=cfg(wasm_split)");
    println!("cargo:rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("wasm32") && flags.split('\u{1f}').any(|f| f.contains("--emit-relocs")) {
        println!("cargo:rustc-cfg=wasm_split");
    }
}
