//! Mechanism 2: 容缺受理 (accept with non-core materials missing, against a
//! signed commitment) and 并联审批 (one entry, one form, one set of
//! materials, departments deciding in parallel), with working-day time
//! limits on the official calendar.
//!
//! Pure logic only: the catalogue of service items and what acceptance
//! requires (`catalogue`), and the life of a combined case with its
//! per-department parts and deadlines (`case`). Storage, HTTP and the
//! outbox live elsewhere and call into here.

pub mod case;
pub mod catalogue;
pub mod catalogue_edit;
pub mod catalogue_sheet;
pub mod schedule;
