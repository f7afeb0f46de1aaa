//! `emrtd-read READER DOC_NO BIRTH EXPIRY CSCA.der`: reads an eMRTD through pcscd with the
//! `emrtd` crate (BAC, EF.COM, EF.SOD, DG1, DG2), runs its passive authentication against the one
//! CSCA given, and prints what it found, one `key: value` per line.

use emrtd::{get_jpeg_from_ef_dg2, other_mrz, passive_authentication, validate_dg, EmrtdComms};
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::X509;

fn main() {
    if let Err(e) = run() {
        println!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().collect();
    let [_, reader, doc, birth, expiry, csca] = args.as_slice() else {
        return Err("usage: emrtd-read READER DOC_NO BIRTH EXPIRY CSCA.der".into());
    };
    let csca = X509::from_der(&std::fs::read(csca).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let mut store = X509StoreBuilder::new().map_err(|e| e.to_string())?;
    store.add_cert(csca).map_err(|e| e.to_string())?;
    let store = store.build();

    let ctx = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| e.to_string())?;
    let name = std::ffi::CString::new(reader.as_str()).map_err(|e| e.to_string())?;
    let card = ctx.connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY).map_err(|e| e.to_string())?;
    let mut sm = EmrtdComms::new(card);
    // (EmrtdComms::get_atr asks for the ATR attribute, which vpcd's driver does not offer.)
    sm.select_emrtd_application().map_err(|e| e.to_string())?;
    let secret = other_mrz(doc, birth, expiry).map_err(|e| e.to_string())?;
    sm.establish_bac_session_keys(secret.as_bytes()).map_err(|e| e.to_string())?;
    println!("bac: ok");
    let mut read = |fid: &[u8; 2], name: &str| -> Result<Vec<u8>, String> {
        sm.select_ef(fid, name, true).map_err(|e| format!("{name}: {e}"))?;
        sm.read_data_from_ef(true).map_err(|e| format!("{name}: {e}"))
    };
    let com = read(b"\x01\x1E", "EF.COM")?;
    println!("ef.com: {} bytes", com.len());
    let sod = read(b"\x01\x1D", "EF.SOD")?;
    let (digest, hashes, dsc) = passive_authentication(&sod, &store).map_err(|e| format!("passive authentication: {e}"))?;
    println!("passive authentication: ok");
    println!("dsc subject: {:?}", dsc.subject_name().entries().map(|e| String::from_utf8_lossy(e.data().as_slice()).into_owned()).collect::<Vec<_>>());
    let dg1 = read(b"\x01\x01", "EF.DG1")?;
    validate_dg(&dg1, 1, digest, &hashes).map_err(|e| format!("DG1 hash: {e}"))?;
    println!("dg1 hash: ok");
    println!("dg1 mrz: {}", String::from_utf8_lossy(dg1.get(5..).unwrap_or_default()));
    let dg2 = read(b"\x01\x02", "EF.DG2")?;
    validate_dg(&dg2, 2, digest, &hashes).map_err(|e| format!("DG2 hash: {e}"))?;
    println!("dg2 hash: ok ({} bytes)", dg2.len());
    match get_jpeg_from_ef_dg2(&dg2) {
        Ok(image) => println!("dg2 image: {} bytes", image.len()),
        Err(e) => println!("dg2 image: not extracted ({e})"),
    }
    Ok(())
}
