//! Logic of ArxOS that needs no Postgres: the path grammar, the BILT rating maths, the
//! reward/token maths, the range of locations, the JSON documents of object history and events, and the sealing of
//! secrets at rest. The `arxos_pg` extension exposes these as SQL functions; the shim and the shell use the path grammar to
//! resolve relative paths the same way the database does.

pub mod ewkb;
pub mod install_script;
pub mod json_depth;
pub mod json_number;
pub mod jsonb;
pub mod label;
pub mod location;
pub mod market;
pub mod message;
pub mod object_json;
pub mod path;
pub mod rating;
pub mod secret_box;
pub mod webhook_url;
