//! Getting invoices to the OMS: the retry policy (pure) and the shared adaptive rate limiter.
//! The scheduler that drives them lives beside these.

pub mod rate;
pub mod retry;
