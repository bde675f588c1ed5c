//! Embeds the sample policy records of `data/policies/` (not `invalid/`) so
//! the demo can load them wherever the binary runs.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/policies");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|x| x == "txt"));
    files.sort();
    let mut out = String::from(
        "/// Sample policy records: (file stem, bytes).\npub const DEMO_POLICIES: &[(&str, &[u8])] = &[\n",
    );
    for f in files {
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let path = f.canonicalize().unwrap_or(f.clone());
        writeln!(
            out,
            "    ({stem:?}, include_bytes!({:?})),",
            path.display().to_string()
        )
        .ok();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("demo_policies.rs");
    std::fs::write(dest, out).ok();
}
