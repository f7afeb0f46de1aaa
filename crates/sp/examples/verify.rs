//! Verifies a signature through the platform, as an SP would:
//!
//! ```sh
//! HANKO_SP_KEY=pk_test_… cargo run -p hanko-sp --example verify -- \
//!     http://127.0.0.1:8450 sign.der signature.bin contract.pdf
//! ```
//!
//! Exit status 0 when the result is OK, 1 when not, 2 on an error.

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, cert, sig, doc] = args.as_slice() else {
        eprintln!("usage: verify PLATFORM_URL CERTIFICATE.der SIGNATURE.bin DOCUMENT  (API key in $HANKO_SP_KEY)");
        return ExitCode::from(2);
    };
    let read = |p: &str| std::fs::read(p).map_err(|e| format!("{p}: {e}"));
    let run = async {
        let client = hanko_sp::Client::new(base, std::env::var("HANKO_SP_KEY").unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let digest = hanko_sp::sha256(&read(doc)?);
        client.verify_signature(&read(cert)?, &read(sig)?, &digest).await.map_err(|e| e.to_string())
    };
    match run.await {
        Ok(outcome) => {
            println!("{}", serde_json::to_string_pretty(&outcome).unwrap_or_default());
            if outcome.valid {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("verify: {e}");
            ExitCode::from(2)
        }
    }
}
