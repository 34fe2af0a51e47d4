//! Compiles the shipped knowledge base (`data/kb/<locale>/<slug>.md` at the repository root)
//! into the binary, so a fresh install has its articles without the source tree.

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/kb");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut entries = vec![];
    for locale in ["en", "zh-CN"] {
        let dir = root.join(locale);
        println!("cargo:rerun-if-changed={}", dir.display());
        let Ok(read) = std::fs::read_dir(&dir) else { continue };
        let mut files: Vec<_> = read.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        for path in files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "md")) {
            let slug = path.file_stem().unwrap_or_default().to_string_lossy().to_string();
            let full = path.canonicalize().unwrap_or(path);
            entries.push(format!("    ({locale:?}, {slug:?}, include_str!({:?})),\n", full.display().to_string()));
        }
    }
    let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("kb_files.rs");
    let code = format!(
        "/// (locale, slug, file) of every shipped article.\npub const SHIPPED: &[(&str, &str, &str)] = &[\n{}];\n",
        entries.concat()
    );
    std::fs::write(out, code).unwrap_or_else(|e| panic!("cannot write kb_files.rs: {e}"));
}
