//! Text → typed values (money in cents, timestamps, ids, quantities), with precise errors.
