//! The `portal` command. Parsing only; the work happens in the library.

use clap::Parser;

#[tokio::main]
async fn main() {
    portal::install_crypto_provider();
    let cli = portal::cli::Cli::parse();
    match portal::cli::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::exit(2);
        }
    }
}
