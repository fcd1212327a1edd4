//! Embeds the templates (through minijinja-embed) and the shipped questionnaires, so the binary
//! runs from any directory.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    minijinja_embed::embed_templates!("templates");

    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    let mut names: Vec<String> = std::fs::read_dir("questionnaires")
        .expect("questionnaires/ is readable")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml"))
        .collect();
    names.sort();

    let mut code = String::from("&[\n");
    for name in &names {
        let path = Path::new("questionnaires")
            .join(name)
            .canonicalize()
            .expect("file exists");
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .unwrap();
    }
    code.push_str("]\n");
    std::fs::write(Path::new(&out_dir).join("questionnaires.rs"), code)
        .expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=questionnaires");
}
