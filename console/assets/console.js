// deskcrm console: progressive behaviour only; every page works without it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Filters and the integration switcher apply as soon as a choice is made.
  for (const el of document.querySelectorAll("select[data-autosubmit]")) {
    el.addEventListener("change", () => el.form.submit());
  }
  setupMapping(document.getElementById("mapping-form"));
  followPlan(document.getElementById("plan-running"));
});

// setupMapping offers, per Desk field, only the CRM fields that fit the chosen direction, and
// checks the mapping against both apps' metadata after every change, naming each problem.
function setupMapping(form) {
  if (!form) return;
  const checkURL = form.dataset.checkUrl;
  const state = document.getElementById("check-state");
  const list = document.getElementById("problems");
  let seq = 0;

  const offer = (row) => {
    const crm = row.querySelector("select[data-options]");
    const dir = row.querySelector("select[data-direction]");
    if (!crm || !dir) return;
    const all = JSON.parse(crm.dataset.options || "[]");
    const chosen = crm.value;
    crm.replaceChildren(new Option("— not mapped —", ""));
    for (const o of all) {
      if (o.d.split(" ").includes(dir.value) || o.n === chosen) {
        crm.add(new Option(o.l, o.n, false, o.n === chosen));
      }
    }
  };

  const check = async () => {
    const mine = ++seq;
    state.textContent = "Checking…";
    state.className = "";
    let answer;
    try {
      const res = await fetch(checkURL, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin" });
      answer = await res.json();
    } catch (e) {
      answer = { ok: false, problems: [], error: "the check could not reach the worker: " + e };
    }
    if (mine !== seq) return; // a later change is being checked
    for (const tr of form.querySelectorAll("tr.has-problem")) tr.classList.remove("has-problem");
    for (const div of form.querySelectorAll(".row-problem")) div.remove();
    list.replaceChildren();
    for (const p of answer.problems || []) {
      const li = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = p.code;
      const where = [p.desk ? "Desk " + p.desk : "", p.crm ? "CRM " + p.crm : ""].filter(Boolean).join(" ↔ ");
      li.append(code, " " + where + ": " + p.message);
      list.append(li);
      const row = p.desk && document.getElementById("row-" + p.desk);
      if (row) {
        row.classList.add("has-problem");
        const div = document.createElement("div");
        div.className = "row-problem";
        div.textContent = p.code + ": " + p.message;
        row.cells[0].append(div);
      }
    }
    if (answer.error) {
      state.textContent = answer.error;
      state.className = "bad";
    } else if (answer.ok) {
      state.textContent = "No problem: the mapping can be saved.";
      state.className = "ok";
    } else {
      state.textContent = answer.problems.length + " problem(s): the mapping cannot be saved as it is.";
      state.className = "bad";
    }
  };

  form.addEventListener("change", (ev) => {
    const row = ev.target.closest("tr");
    if (row && ev.target.matches("select[data-direction]")) offer(row);
    check();
  });
}

// followPlan shows a running plan's progress and reloads the page once it is done.
function followPlan(box) {
  if (!box) return;
  const url = box.dataset.progressUrl;
  const bar = document.getElementById("plan-progress");
  const step = document.getElementById("plan-step");
  const done = document.getElementById("plan-done");
  const poll = async () => {
    try {
      const res = await fetch(url, { credentials: "same-origin" });
      const p = await res.json();
      if (!p.running) {
        location.replace(location.pathname + location.search.replace(/([?&])ok=[^&]*&?/, "$1").replace(/[?&]$/, ""));
        return;
      }
      bar.value = p.done;
      done.textContent = p.done;
      step.textContent = p.step || "";
    } catch (e) {
      // keep polling: the worker may be restarting
    }
    setTimeout(poll, 1000);
  };
  setTimeout(poll, 1000);
}
