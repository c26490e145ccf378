//! Sessions: lifecycle rules, the patient's identifiers, and (per live
//! session) the writer task that owns the gates.

pub mod identifiers;
pub mod lifecycle;
