//! Integration tests: the real server over real HTTP (127.0.0.1:0), one fresh database per test
//! (SQLite, or PostgreSQL when `TEST_POSTGRES_URL` is set), short TTLs where a test needs them.

mod helpers;
mod mailbox;

mod abuse;
mod account;
mod admin;
mod cli;
mod connections;
mod crash;
mod device;
mod instances;
mod keys;
mod login;
mod logout;
mod mail;
mod malformed;
mod mfa;
mod pages;
mod profile;
mod proxy;
mod races;
mod recovery;
mod refresh;
mod restart;
mod revocation;
mod second_factor;
mod secret;
mod signup;
mod step_up;
