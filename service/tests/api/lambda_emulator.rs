//! Empty: the Lambda runtime emulator lives in the `testkit` crate (`testkit::lambda`),
//! shared with the benchmark, and `helpers` re-exports it. This file goes once
//! `main.rs` no longer declares the module.
