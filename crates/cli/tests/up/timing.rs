//! Where the machine time of an account opening goes (issue 11: goal under 1 s, typing
//! excluded). Not a test of speed — timings are printed, never asserted: run it with
//! `cargo test -p hanko-cli --test up timing -- --ignored --nocapture` (the `--release`
//! profile for numbers worth quoting).
//!
//! Each opening is the real flow through `hanko up`: the bank starts a sign transaction at the
//! provider, the browser goes to the wallet, the app reads the request, the card signs (its
//! password, its RSA key), the app sends the approval (the provider has the platform verify
//! it), the browser comes back (the bank exchanges the code, fetches and decrypts the sign
//! result, the platform verifies it) — twice: the certificate read for the form, then the
//! signed application, which creates the account and its record.

use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hanko_card::Slot;
use serde_json::json;

use crate::common::*;

#[derive(Default, Debug, Clone, Copy)]
struct Trip {
    bank_start: Duration,
    to_wallet: Duration,
    app_read: Duration,
    card: Duration,
    approval: Duration,
    back_to_bank: Duration,
}

impl Trip {
    fn total(&self) -> Duration {
        self.bank_start + self.to_wallet + self.app_read + self.card + self.approval + self.back_to_bank
    }
}

/// One trip through the app from a POST to the bank, timed step by step; the bank's page.
async fn trip(up: &Up, browser: &Browser, url: &str, form: &[(&str, &str)], card_id: &str) -> (Trip, Page) {
    let mut t = Trip::default();
    let at = Instant::now();
    let start = browser.post(url, form).await;
    t.bank_start = at.elapsed();
    let at = Instant::now();
    let wallet = browser.follow(start).await;
    t.to_wallet = at.elapsed();
    let request_id = wallet.url.rsplit('/').next().unwrap().to_owned();
    let at = Instant::now();
    let request = up.app_request(&request_id).await;
    t.app_read = at.elapsed();
    let at = Instant::now();
    let data = B64.decode(request["sign"]["data"].as_str().unwrap()).unwrap();
    let mut card = up.card(card_id);
    let certificate = card.read_signature_certificate(PASSWORD).unwrap();
    let signature = card.sign(Slot::Signature, PASSWORD, &data).unwrap();
    t.card = at.elapsed();
    let at = Instant::now();
    let body = json!({"certificate": B64.encode(certificate), "signature": B64.encode(signature), "device": "card"});
    let (status, answer) =
        send(up.http.post(format!("{}/api/app/requests/{request_id}/approval", up.idp)).json(&body)).await;
    assert_eq!(status, 200, "{answer}");
    t.approval = at.elapsed();
    let at = Instant::now();
    let back = browser.get(&format!("{}/app/requests/{request_id}/continue", up.idp)).await;
    let page = browser.follow(back).await;
    t.back_to_bank = at.elapsed();
    (t, page)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints where an account opening's time goes; run with --ignored --nocapture"]
async fn account_opening_time() {
    let up = Up::start(Backend::Sqlite);
    let mut rows = Vec::new();
    for name in ["試験", "見本　太郎", "架空", "見本　みらい"] {
        let card = up.card_of(name);
        let browser = Browser::new();
        let (first, form) = trip(&up, &browser, &format!("{}/open", up.bank), &[], &card).await;
        assert!(form.url.ends_with("/open/form"), "{form:?}");
        let token = input_value(&form.body, "token");
        let fields = [("token", token.as_str()), ("occupation", "会社員"), ("purpose", "生計費決済")];
        let (second, record) = trip(&up, &browser, &format!("{}/open/form", up.bank), &fields, &card).await;
        assert!(element(&record.body, "account-number").is_some(), "{}", record.body);
        rows.push((first, second));
    }
    println!(
        "account opening, {} customers, ms per step (first trip: the certificate; second: the application)",
        rows.len()
    );
    println!("{:<28} {:>9} {:>9}", "step", "1st trip", "2nd trip");
    type Step = fn(&Trip) -> Duration;
    let steps: [(&str, Step); 6] = [
        ("bank: start (sign tx)", |t| t.bank_start),
        ("browser → wallet", |t| t.to_wallet),
        ("app: read the request", |t| t.app_read),
        ("card: cert + RSA signature", |t| t.card),
        ("app: approval (verify)", |t| t.approval),
        ("browser → bank (callback)", |t| t.back_to_bank),
    ];
    let median = |f: &dyn Fn(&(Trip, Trip)) -> Duration| {
        let mut v: Vec<Duration> = rows.iter().map(f).collect();
        v.sort();
        v[v.len() / 2]
    };
    for (name, f) in steps {
        println!("{name:<28} {:>9.1} {:>9.1}", ms(median(&|r| f(&r.0))), ms(median(&|r| f(&r.1))));
    }
    let total = median(&|r| r.0.total() + r.1.total());
    let card = median(&|r| r.0.card + r.1.card);
    println!(
        "total (median) {:.1} ms, of which the card {:.1} ms ({:.0}%)",
        ms(total),
        ms(card),
        100.0 * ms(card) / ms(total)
    );
}
