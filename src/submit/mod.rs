//! Getting requests to the OMS: the scheduler ([`engine`]), the request bodies ([`request`]), the
//! retry policy (pure, [`retry`]) and the shared adaptive rate limiter ([`rate`]).

pub mod engine;
pub mod rate;
pub mod request;
pub mod retry;
