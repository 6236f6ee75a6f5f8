//! Integration tests: the real server over real HTTP (127.0.0.1:0), one fresh SQLite database per
//! test, short TTLs where a test needs them.

mod helpers;

mod abuse;
mod account;
mod admin;
mod cli;
mod crash;
mod login;
mod logout;
mod malformed;
mod mfa;
mod pages;
mod refresh;
mod restart;
mod revocation;
mod secret;
