//! The integration tests of thaw: the real server started in-process on a free port (through
//! `thaw::launch`) and the real binary, driven as a client would, on SQLite and on PostgreSQL.
//! Tests that touch the database run once per backend: `…::sqlite` and `…::postgres`.

mod support;

mod approvals;
mod authz;
mod case_mail;
mod cases;
mod cli;
mod desk_scale;
mod hardening;
mod holder_tools;
mod http_api;
mod http_pages;
mod jobs;
mod knowledge;
mod oversight;
mod risk;
mod security;
mod store;
