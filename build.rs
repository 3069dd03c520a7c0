//! Build metadata for `kioku --version`: the git commit (short hash, or
//! "unknown" outside a git checkout or without git) and the target triple.
//! A non-empty `KIOKU_GIT_COMMIT` in the environment overrides git (for
//! builds in containers without git, see Cross.toml).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=KIOKU_GIT_COMMIT");
    let commit = std::env::var("KIOKU_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=KIOKU_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=KIOKU_TARGET={target}");
    println!("cargo:rerun-if-changed=build.rs");
    // Rebuild when HEAD moves (a commit, a checkout); only for files that
    // exist, as a missing file would make cargo rerun this on every build.
    let mut watch = vec![git(&["rev-parse", "--git-path", "HEAD"])];
    watch.push(git(&["rev-parse", "--git-path", "packed-refs"]));
    if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watch.push(git(&["rev-parse", "--git-path", &head_ref]));
    }
    for path in watch.into_iter().flatten() {
        if Path::new(&path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
}
