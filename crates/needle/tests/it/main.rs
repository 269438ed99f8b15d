//! Scenario tests that drive the `needle` binary the way people and scripts do.
//! One test binary for all of them keeps link time down on small machines.

mod support;

mod auth;
mod bad_input;
mod cases;
mod chat;
mod classify;
#[cfg(feature = "cluster")]
mod cluster;
mod collab;
mod connections;
mod crash;
mod email;
mod import;
mod listening;
mod listening_views;
mod mastodon;
mod profiles;
mod relevance;
mod serve;
mod teams;
