//! invoice-import: read invoice spreadsheets, validate them, submit them to VTEX OMS exactly once.
