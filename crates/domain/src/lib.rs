//! Pure domain logic of zhengqi (政企通): valid-by-construction codes, money,
//! reference data, enterprise records, size classes and roles.
//!
//! Nothing in this crate does IO: storage and HTTP live in `zhengqi-store`
//! and `zhengqi-web`, which call into here.

pub mod approval;
pub mod auth;
pub mod calendar;
pub mod enterprise;
pub mod import;
pub mod money;
pub mod policy;
pub mod reference;
pub mod size;
pub mod table;
pub mod uscc;
