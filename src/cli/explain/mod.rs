//! The text explanation of a decision, for the clerk who must act on it.

pub mod diff;
