fn main() {
    std::process::exit(invoice_import::cli::main());
}
