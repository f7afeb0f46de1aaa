// The counter page's script (hanko-counter). Every value from the server is written with
// textContent, never as markup. The access code goes only into the POST body and the inputs are
// cleared as soon as it is sent.
"use strict";
(function () {
  const T = {
    ja: {
      signed: "署名検証済み", unsigned: "署名なし（検証されていない）", issuer: "発行者の署名",
      chip: "チップの真正性", proven: "確認済み", notProven: "確認できない", recorded: "記録した日時",
      document: "書類", tail: "照合番号B（生年月日を除く8桁）", policy: "記録方針", keepUntil: "保存期限",
      passed: "確認できました", readUnverified: "読み取りましたが、発行者の署名による検証はできていません（署名のない書類）",
      elapsed: "所要時間", noPhoto: "顔写真なし", starting: "開始",
      failed: "確認できませんでした", signer: "署名者", nothingElse: "これ以外は記録していません。",
    },
    en: {
      signed: "signed (verified)", unsigned: "not signed (not verified)", issuer: "Issuer signature",
      chip: "Chip authenticity", proven: "proven", notProven: "not proven", recorded: "Recorded at",
      document: "Document", tail: "Check number B (8 digits, no birth date)", policy: "Policy",
      keepUntil: "Keep until", passed: "Checked",
      readUnverified: "Read, but NOT verified by the issuer's signature (the document carries none)", elapsed: "Time taken", noPhoto: "no photo",
      starting: "starting", failed: "The check did not pass", signer: "Signer",
      nothingElse: "Nothing else is recorded.",
    },
  };
  const lang = document.documentElement.lang === "en" ? "en" : "ja";
  const t = T[lang];
  const $ = (id) => document.getElementById(id);

  function row(tbody, cells, cls) {
    const tr = document.createElement("tr");
    cells.forEach((c, i) => {
      const td = document.createElement(i === 0 ? "th" : "td");
      td.textContent = c;
      if (cls && cls[i]) td.className = cls[i];
      tr.appendChild(td);
    });
    tbody.appendChild(tr);
  }

  function jst(unix) {
    const d = new Date((unix + 9 * 3600) * 1000);
    const p = (n) => String(n).padStart(2, "0");
    return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} JST`;
  }

  function show(form) {
    const kind = $("document").value;
    form.querySelectorAll("fieldset[data-for]").forEach((f) => { f.hidden = f.dataset.for !== kind; });
  }

  function codeOf(form, kind) {
    const v = (id) => $(id).value;
    switch (kind) {
      case "my_number_card": return { number_b: v("number_b") };
      case "driver_licence": return { pin1: v("pin1"), pin2: v("pin2") };
      case "residence_card": return { card_number: v("card_number") };
      default:
        return v("can") ? { can: v("can") } : { document_number: v("document_number"), birth: v("birth"), expiry: v("expiry") };
    }
  }

  function clearCodes(form) {
    form.querySelectorAll("input[type=password]").forEach((i) => { i.value = ""; });
  }

  function fail(message) {
    $("progress").hidden = true;
    const e = $("error");
    e.textContent = message;
    e.hidden = false;
    $("start").disabled = false;
  }

  function render(s) {
    $("progress").hidden = true;
    const r = s.report;
    // Only a report the issuer's signature verified is "checked"; one with nothing signed (an
    // under-16 residence card) was read, not verified, and says so.
    const verified = s.verified === true;
    const kindName = document.querySelector(`#document option[value="${r.kind}"]`).textContent;
    $("result-title").textContent = `${verified ? t.passed : t.readUnverified} — ${kindName}`;
    $("result-title").className = verified ? "" : "unsigned";
    const fields = $("fields").querySelector("tbody");
    fields.replaceChildren();
    r.fields.forEach((f) => {
      const signed = f.trust === "signed";
      const label = lang === "en" ? `${f.key} (${f.label})` : f.label;
      row(fields, [label, f.value, signed ? t.signed : `${t.unsigned}${f.why ? ": " + f.why : ""}`], [null, null, signed ? "signed" : "unsigned"]);
    });
    const img = $("photo");
    if (s.photo) {
      img.src = s.photo;
      img.hidden = false;
      const signed = r.photo && r.photo.trust === "signed";
      $("photo-trust").textContent = signed ? t.signed : t.unsigned;
      $("photo-trust").className = signed ? "signed" : "unsigned";
    } else {
      img.hidden = true;
      $("photo-trust").textContent = s.photo_error || t.noPhoto;
      $("photo-trust").className = "";
    }
    const checks = $("checks").querySelector("tbody");
    checks.replaceChildren();
    row(checks, [t.issuer, `${r.issuer.method} — ${t.signer}: ${r.issuer.signer}`], [null, verified ? "signed" : "unsigned"]);
    const proven = r.chip.chip === "proven";
    row(checks, [t.chip, `${proven ? t.proven : t.notProven}: ${r.chip.method || r.chip.why || ""}`], [null, proven ? "signed" : "unsigned"]);
    const rec = $("record").querySelector("tbody");
    rec.replaceChildren();
    row(rec, [t.recorded, jst(s.record.checked_at)]);
    const docOption = document.querySelector(`#document option[value="${s.record.document}"]`);
    row(rec, [t.document, docOption ? docOption.textContent : s.record.document]);
    if (s.record.number_b_tail) row(rec, [t.tail, s.record.number_b_tail]);
    row(rec, [t.policy, s.record.policy]);
    row(rec, [t.keepUntil, jst(s.record.retain_until)]);
    if (s.record.policy === "minimal") row(rec, ["", t.nothingElse]);
    row(rec, [t.elapsed, `${s.elapsed_ms} ms`]);
    $("result").hidden = false;
    $("start").disabled = false;
  }

  async function poll(url) {
    for (;;) {
      const res = await fetch(url, { credentials: "same-origin" });
      const s = await res.json();
      if (!res.ok) return fail((lang === "ja" && s.detail_ja) || s.detail);
      if (s.state === "done") return render(s);
      if (s.state === "failed") return fail(`${t.failed}: ${lang === "ja" ? s.error.message_ja : s.error.message}`);
      const p = s.progress;
      $("step").textContent = p.total ? `${p.step} — ${p.done} / ${p.total}` : `${p.step || t.starting} ${p.done ? "— " + p.done : ""}`;
      const bar = $("bar");
      if (p.total) { bar.max = p.total; bar.value = Math.min(p.done, p.total); } else { bar.removeAttribute("value"); }
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    const form = $("check-form");
    if (!form) return;
    const source = $("source");
    const follow = () => {
      const o = source.selectedOptions[0];
      if (o && o.dataset.kind) $("document").value = o.dataset.kind;
      show(form);
    };
    source.addEventListener("change", follow);
    $("document").addEventListener("change", () => show(form));
    follow();
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("error").hidden = true;
      $("result").hidden = true;
      $("start").disabled = true;
      const kind = $("document").value;
      const body = JSON.stringify({ document: kind, source: source.value, code: codeOf(form, kind) });
      clearCodes(form);
      $("step").textContent = t.starting;
      $("bar").removeAttribute("value");
      $("progress").hidden = false;
      try {
        const res = await fetch("/api/checks", {
          method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" }, body,
        });
        const s = await res.json();
        if (!res.ok) return fail((lang === "ja" && s.detail_ja) || s.detail);
        await poll(s.poll);
      } catch (e) {
        fail(String(e));
      }
    });
  });
})();
