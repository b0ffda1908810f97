//! One test binary for the service (see `helpers.rs` for the harness).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod binary;
mod contract;
mod dynamodb;
mod e2e_checker;
mod embedded;
mod faults;
mod helpers;
mod hostile;
mod lambda;
mod lambda_binary;
mod lambda_emulator;
mod load;
mod openapi;
mod security;
mod support;
