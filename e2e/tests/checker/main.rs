#![allow(clippy::unwrap_used, clippy::expect_used)]

mod broken_stubs;
mod cli;
mod good_stub;
mod helpers;
mod load;
mod throttling;
