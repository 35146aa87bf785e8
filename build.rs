//! Rebuilds the crate when a migration is added or changed: the migrations
//! are embedded at compile time, and a new directory alone would not
//! trigger a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
