//! Who is calling and what they may do: passwords, JWTs, revocation, login
//! throttling, invites' token minting, and the permission table.

pub mod jwt;
pub mod keyring;
pub mod password;
pub mod permissions;
pub mod principal;
pub mod ratelimit;
pub mod revocation;

pub use permissions::{authorize, Permission};
pub use principal::Principal;
