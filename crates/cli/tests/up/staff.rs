//! The staff dashboard: signing in with the staff key, the accounts, the verification records.

use crate::common::*;

/// The staff URL `hanko up` printed signs in (an HttpOnly, SameSite=Strict cookie, then the
/// dashboard without the key in the URL); a wrong key or no sign-in is 403. The dashboard lists
/// the accounts with their numbers, names and consent, and opens any verification record — a
/// customer's own record page stays the customer's.
async fn staff_dashboard(backend: Backend) {
    let up = Up::start(backend);
    let staff_url = up.ready["staff"].as_str().unwrap().to_owned();
    assert!(staff_url.starts_with(&format!("{}/staff?key=", up.bank)), "{staff_url}");

    let customer = Browser::new();
    let number = open_account(&up, &customer, &up.card_of("試験")).await;

    let staff = Browser::new();
    let wrong = staff.get(&format!("{}/staff?key={}", up.bank, "0".repeat(64))).await;
    assert_eq!(wrong.status, 403, "{wrong:?}");
    assert!(wrong.body.contains("職員用"), "{}", wrong.body);
    assert_eq!(staff.get(&format!("{}/staff", up.bank)).await.status, 403);
    assert!(staff.cookie("hanko_bank_staff").is_none());

    let resp = up.http.get(&staff_url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 303);
    assert_eq!(resp.headers()["location"], "/staff");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/staff"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let key = staff_url.split("key=").nth(1).unwrap();
    assert!(!cookie.contains(key), "the cookie is not the key");

    let dashboard = staff.follow(staff.get(&staff_url).await).await;
    assert_eq!(dashboard.status, 200, "{dashboard:?}");
    assert!(dashboard.url.ends_with("/staff"), "{}", dashboard.url);
    let row = element(&dashboard.body, &format!("account-{number}")).unwrap_or_else(|| panic!("{}", dashboard.body));
    assert!(row.contains(&number), "{row}");
    let accounts = dashboard.body.split("id=\"accounts\"").nth(1).unwrap().split("</table>").next().unwrap();
    assert!(accounts.contains("試験　花子"), "{accounts}");
    assert!(element(&dashboard.body, &format!("changed-{number}")).is_none(), "no change yet");
    let english = staff.get(&format!("{}/staff?lang=en", up.bank)).await;
    assert!(english.body.contains("Staff dashboard"), "{}", english.body);
    staff.get(&format!("{}/staff?lang=ja", up.bank)).await;

    // Any verification record, from the dashboard's link.
    let link = accounts.split("href=\"/staff/records/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let record = staff.get(&format!("{}/staff/records/{link}", up.bank)).await;
    assert_eq!(record.status, 200, "{record:?}");
    assert!(record.body.contains("試験　花子") && record.body.contains(&number), "{}", record.body);
    assert_eq!(staff.get(&format!("{}/staff/records/nonexistent", up.bank)).await.status, 404);
    assert_eq!(customer.get(&format!("{}/staff/records/{link}", up.bank)).await.status, 403);
    assert_eq!(Browser::new().get(&format!("{}/staff", up.bank)).await.status, 403);
    // The staff cookie is not a customer's login.
    assert_eq!(staff.get(&format!("{}/me", up.bank)).await.status, 303);
}
on_both!(staff_dashboard, staff_dashboard);
