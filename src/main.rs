//! The `invoice-import` binary: everything lives in the library; this only hands over.

fn main() {
    std::process::exit(invoice_import::cli::main());
}
