// sct-forms: progressive enhancements. Every page works without this file; with it, step forms
// save themselves, keep text in the browser when offline, and survive an ended session.
(function () {
  "use strict";

  const messages = readJson("js-messages");
  const SAVE_DELAY_MS = 1500;
  const RETRY_DELAYS_MS = [3000, 10000, 30000];
  // Autosaved forms tell the unsaved-changes guard whether all their text reached the server.
  const autosaved = new Map(); // form -> { saved(): boolean, saveNow(): Promise<boolean> }

  function readJson(id) {
    const node = document.getElementById(id);
    try { return node ? JSON.parse(node.textContent) : {}; } catch (e) { return {}; }
  }

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // After signing in again the session has a new CSRF token: put it everywhere the page keeps one.
  function useCsrfToken(token) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) meta.content = token;
    document.body.setAttribute("hx-headers", JSON.stringify({ "X-CSRFToken": token }));
    document.querySelectorAll('input[name="csrf_token"]').forEach((input) => { input.value = token; });
  }

  async function refreshCsrfToken() {
    const response = await fetch("/csrf-token", { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) return false;
    useCsrfToken((await response.text()).trim());
    return true;
  }

  // --- Inline checks: keep aria-invalid and the field's look in step with its error slot ----------
  function syncFieldError(slot) {
    const fieldId = slot.id.replace(/-error$/, "");
    const wrapper = document.getElementById(fieldId + "-field");
    const input = document.getElementById(fieldId);
    const hasError = !slot.hidden && slot.textContent.trim() !== "";
    if (wrapper) wrapper.classList.toggle("field-error", hasError);
    if (!input) return;
    const ids = (input.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && id !== slot.id);
    if (hasError) ids.push(slot.id);
    if (ids.length) input.setAttribute("aria-describedby", ids.join(" "));
    if (hasError) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
  }

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (target && target.classList && target.classList.contains("group-rows")) {
      const rows = target.querySelectorAll(".group-row");
      const row = rows[rows.length - 1];
      const button = document.querySelector('[data-add-row="' + target.id.replace(/-rows$/, "") + '"]');
      if (button) button.setAttribute("hx-vals", JSON.stringify({ index: nextRowIndex(target) }));
      const first = row && row.querySelector("input, textarea, select");
      if (first) first.focus();
      announce(messages.rowAdded);
    }
  });
  document.addEventListener("htmx:afterSettle", (event) => {
    const node = event.detail.elt;
    if (node && node.classList && node.classList.contains("error-message")) syncFieldError(node);
  });

  function nextRowIndex(container) {
    let max = -1;
    container.querySelectorAll(".group-row").forEach((row) => {
      const index = parseInt(row.id.split("-").pop(), 10);
      if (!isNaN(index)) max = Math.max(max, index);
    });
    return max + 1;
  }

  function announce(text) {
    const region = document.getElementById("save-status") || document.getElementById("messages");
    if (region && text) region.textContent = text;
  }

  // --- Autosave ----------------------------------------------------------------------------------
  // htmx sends the saves: the status line (#save-status) declares the request, its triggers and
  // that one save waits for another (hx-sync), and the answer updates the status, the version,
  // the meter and the step list. What htmx cannot do is here: keep the text in this browser
  // until the server has it (offline, a failed save, a closed tab), retry, ask to sign in again,
  // and make a form posted from this page wait for a save on its way.
  function setupAutosave(form) {
    const saver = document.getElementById("save-status");
    if (!saver || !window.htmx) return;
    const storageKey = "sct-forms:draft:" + form.dataset.toolkit + ":" + form.dataset.step;
    let retry = 0;
    let retryTimer = null;
    let inFlight = false;
    let sending = null; // the fields of the save on its way
    let blocked = false; // a conflict or a locked toolkit: the person must choose what to do
    let submitted = false; // a form was posted from this page: the page is being replaced
    let submitAfterSave; // [form, button] posted while an autosave was on its way
    let savedBeforeLeaving = false; // another form waited once for the text to be saved
    let lastSaved = serialise();
    let lastSaveOk = true;

    function serialise() {
      const pairs = [];
      new FormData(form).forEach((value, key) => {
        if (key !== "csrf_token" && key !== "intent") pairs.push([key, String(value)]);
      });
      return pairs;
    }
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    // The answers alone: the version changes with every save and is not something typed.
    const answers = (pairs) => pairs.filter(([key]) => key !== "base_version");
    const version = () => document.getElementById("base-version").value;

    function show(text) { saver.textContent = text; }

    function keepInBrowser(pairs) {
      try {
        localStorage.setItem(storageKey, JSON.stringify({ pairs: pairs, keptAt: Date.now() }));
      } catch (e) { /* storage full or disabled: the text is still in the page */ }
    }
    function forget() { try { localStorage.removeItem(storageKey); } catch (e) { /* ignore */ } }

    // Save now rather than after the pause; behind a save on its way if there is one.
    function saveNow() {
      clearTimeout(retryTimer);
      htmx.trigger(saver, "save-now");
    }

    saver.addEventListener("htmx:beforeRequest", (event) => {
      if (event.target !== saver) return;
      const pairs = serialise();
      if (blocked || submitted || same(answers(pairs), answers(lastSaved))) {
        event.preventDefault(); // nothing new, or nothing that may be saved from here
        submitPending();
        afterSave();
        return;
      }
      keepInBrowser(pairs);
      if (!navigator.onLine) {
        event.preventDefault();
        lastSaveOk = false;
        show(messages.offline);
        submitPending();
        afterSave();
        return;
      }
      inFlight = true;
      sending = pairs;
    });

    // Every end of a save: answered (htmx has swapped in what it shows), failed or cut off.
    saver.addEventListener("htmx:afterRequest", (event) => {
      if (event.target !== saver) return;
      inFlight = false;
      const status = event.detail.xhr.status;
      lastSaveOk = status === 200;
      if (status === 200) {
        lastSaved = sending;
        retry = 0;
        if (same(answers(serialise()), answers(sending))) forget();
        else keepInBrowser(serialise());
      } else if (status === 0 && !navigator.onLine) {
        show(messages.offline); // no answer: the connection is gone; "online" saves again
      } else if (status === 401) {
        show(messages.sessionEnded);
        askToSignIn();
      } else if (status === 400 && retry < 1) {
        // The CSRF token expired while the page was open: get a new one and try again.
        retry += 1;
        refreshCsrfToken().then((ok) => { if (ok) saveNow(); });
      } else if (status === 409) {
        blocked = true; // the answer (a conflict, or no longer editable) is in the status line
      } else if (status !== 422) {
        // 422: refused as it stands (an answer over its limit); the next edit saves.
        // Anything else, including no answer while the browser says it is online (the server
        // restarting, a connection dropped just as it came back), is tried again after a pause:
        // no "online" event would come to save it.
        show(messages.retrying);
        retryTimer = setTimeout(saveNow, RETRY_DELAYS_MS[Math.min(retry, RETRY_DELAYS_MS.length - 1)]);
        retry += 1;
      }
      submitPending();
      afterSave();
    });

    // For the unsaved-changes guard: saved means the last autosave succeeded with what the
    // fields hold now; while a save is pending, on its way or failed, the text is not saved.
    const waiting = [];
    const isSaved = () => !inFlight && same(answers(serialise()), answers(lastSaved));
    function afterSave() {
      if (!waiting.length || inFlight) return;
      // Typed while the save was on its way: save the rest too before answering.
      if (!isSaved() && lastSaveOk && !blocked && !submitted && navigator.onLine) { saveNow(); return; }
      waiting.splice(0).forEach((resolve) => resolve(isSaved()));
    }
    autosaved.set(form, {
      saved: isSaved,
      saveNow() {
        if (isSaved() || blocked || submitted || !navigator.onLine) return Promise.resolve(isSaved());
        return new Promise((resolve) => {
          waiting.push(resolve);
          if (!inFlight) saveNow();
        });
      },
    });

    function submitPending() {
      if (submitAfterSave === undefined) return;
      const [target, button] = submitAfterSave;
      submitAfterSave = undefined;
      target.requestSubmit(button);
    }

    function askToSignIn() {
      const dialog = document.getElementById("reauth-dialog");
      if (!dialog || dialog.open) return;
      const error = dialog.querySelector("[data-reauth-error]");
      error.hidden = true;
      dialog.showModal();
      dialog.querySelector('input[type="email"]').focus();
      dialog.querySelector("form").onsubmit = async (event) => {
        event.preventDefault();
        const formData = new FormData(event.target);
        // Signed out, this browser has a new session: the sign-in needs that session's token.
        const token = await fetch("/csrf-token", { credentials: "same-origin", cache: "no-store" });
        const pairs = answers(serialise()).concat([["base_version", version()]]);
        const body = new URLSearchParams({
          email: formData.get("email"), password: formData.get("password"),
          csrf_token: token.ok ? (await token.text()).trim() : "",
          // Signing in finishes this autosave, and answers as the autosave would.
          resume_url: new URL(saver.getAttribute("hx-post"), window.location.href).pathname,
          resume_data: JSON.stringify(pairs),
        });
        const response = await fetch("/sign-in", { method: "POST", body: body, credentials: "same-origin" });
        if (response.ok || response.status === 409) {
          // Saved, or signed in but not saved: someone else changed the step meanwhile, or it
          // is locked. The answer is the autosave's own, out-of-band parts and all.
          htmx.swap(saver, await response.text(), { swapStyle: "innerHTML" });
          if (response.ok) {
            lastSaved = pairs;
            lastSaveOk = true;
            if (same(answers(serialise()), answers(pairs))) forget();
          } else {
            blocked = true;
          }
          dialog.close();
          await refreshCsrfToken();
        } else {
          // A throttled attempt: the sign-in page's own message says how long to wait.
          const said = response.status === 429 && new DOMParser()
            .parseFromString(await response.text(), "text/html").querySelector(".error-summary li");
          error.textContent = response.status === 429
            ? (said ? said.textContent.trim() : messages.tooManyAttempts) : messages.wrongPassword;
          error.hidden = false;
          dialog.querySelector('input[type="password"]').value = "";
          dialog.querySelector('input[type="password"]').focus();
        }
      };
    }

    // Text kept in this browser from an earlier visit (offline, closed tab): put it back, then save.
    try {
      const kept = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (kept && !same(kept.pairs, lastSaved)) {
        restore(kept.pairs);
        show(messages.restored);
        setTimeout(saveNow, 500);
      } else if (kept) {
        forget();
      }
    } catch (e) { /* nothing kept */ }

    function restore(pairs) {
      const byName = {};
      pairs.forEach(([key, value]) => { (byName[key] = byName[key] || []).push(value); });
      // Keep the version the text was based on, so a newer save by someone else is detected.
      if (byName.base_version) document.getElementById("base-version").value = byName.base_version[0];
      Array.from(form.elements).forEach((input) => {
        if (!input.name || input.name === "csrf_token" || input.type === "hidden") return;
        const values = byName[input.name] || [];
        if (input.type === "checkbox" || input.type === "radio") input.checked = values.includes(input.value);
        else if (values.length) input.value = values[0];
      });
    }

    form.addEventListener("click", (event) => {
      const button = event.target.closest("[data-remove-row]");
      if (!button) return;
      event.preventDefault();
      const row = document.getElementById(button.dataset.removeRow);
      const group = row.closest("fieldset.group");
      row.remove();
      announce(messages.rowRemoved);
      const add = group.querySelector("[data-add-row]");
      if (add) add.focus();
      saveNow();
    });
    window.addEventListener("online", () => { show(messages.backOnline); saveNow(); });
    // Any form posted from this page replaces it: this step's form, an upload, a delete, sign-out.
    document.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return; // the sign-in dialog handles its own form
      if (inFlight) {
        // Post once the autosave has answered, with the version it made, or the two conflict.
        event.preventDefault();
        submitAfterSave = [event.target, event.submitter || null];
        return;
      }
      if (!navigator.onLine) {
        // Posting now would swap this page for the browser's error page: keep the text here.
        event.preventDefault();
        keepInBrowser(serialise());
        show(messages.offline);
        return;
      }
      if (event.target !== form && !savedBeforeLeaving && !blocked && !isSaved()) {
        // An upload or a delete: save what was typed first, so the page it leads to shows it.
        event.preventDefault();
        savedBeforeLeaving = true;
        submitAfterSave = [event.target, event.submitter || null];
        saveNow();
        return;
      }
      // No autosave while the page is replaced (a pending one is refused when it comes): it
      // would post the version this page was opened with after the next page was made, and
      // that page would then conflict with it. Text not saved yet (the save failed) stays in
      // this browser for the next page to put back.
      submitted = true;
      clearTimeout(retryTimer);
      if (event.target === form) forget();
      else if (!isSaved()) keepInBrowser(serialise());
    });
  }

  // --- Unsaved-changes guard ---------------------------------------------------------------------
  // A form that does not save itself and that the person changed holds text that leaving would
  // lose. Following a link or posting another form asks first, in the page; the back button,
  // closing the tab or typing an address get the browser's own question. Posting the changed
  // form itself is not leaving. Forms marked data-no-guard (search, filters, language, sign-out)
  // hold nothing to lose; autosaved forms count as changed until their last save succeeded.
  const LEAVE_GRACE_MS = 3000;
  const SAVE_WAIT_MS = 8000;
  const NOT_TYPED = new Set(["hidden", "submit", "button", "reset", "image", "password"]);
  const valuesAtLoad = new WeakMap();
  let leaveAllowedUntil = 0;
  let waitingForSave = false;
  // Asking means the question is open, read from the dialog itself: a dialog closes at once,
  // but its close event comes later, after a key the person pressed right away (Escape, then
  // Enter on the link again) has already been handled.
  const asking = () => {
    const dialog = document.getElementById("leave-dialog");
    return waitingForSave || Boolean(dialog && dialog.open);
  };

  function currentValue(el) {
    if (el.type === "checkbox" || el.type === "radio") return el.checked;
    if (el.type === "file") return el.files ? el.files.length : 0;
    if (el.tagName === "SELECT") return Array.from(el.selectedOptions, (o) => o.value).join("\n");
    return el.value;
  }
  function rememberValues(root) {
    if (!root || !root.querySelectorAll) return;
    const fields = Array.from(root.querySelectorAll("input, textarea, select"));
    if (root.matches && root.matches("input, textarea, select")) fields.push(root);
    fields.forEach((el) => { if (!valuesAtLoad.has(el)) valuesAtLoad.set(el, currentValue(el)); });
  }

  const guarded = (form) => form.method !== "dialog" && !form.hasAttribute("data-no-guard")
    && !form.hasAttribute("data-autosave");

  function changedFields(form) {
    return Array.from(form.elements).filter((el) => {
      if (!el.name || el.disabled || NOT_TYPED.has(el.type) || el.tagName === "BUTTON") return false;
      if (!valuesAtLoad.has(el)) valuesAtLoad.set(el, currentValue(el)); // added by a script
      return currentValue(el) !== valuesAtLoad.get(el);
    });
  }
  const changedForms = () => Array.from(document.forms)
    .filter((f) => guarded(f) && changedFields(f).length);
  const unsavedAutosaves = () => Array.from(autosaved.keys())
    .filter((f) => document.contains(f) && !autosaved.get(f).saved());

  function allowLeaving() { leaveAllowedUntil = Date.now() + LEAVE_GRACE_MS; }
  const leavingAllowed = () => Date.now() < leaveAllowedUntil;

  function fieldName(el) {
    const set = (el.type === "radio" || el.type === "checkbox") && el.closest("fieldset");
    const legend = set && set.querySelector("legend");
    const label = legend || (el.labels && el.labels[0]);
    const text = label ? label.textContent : el.getAttribute("aria-label") || el.name;
    return text.replace(/\s+/g, " ").trim();
  }

  function leaveDialog() {
    let dialog = document.getElementById("leave-dialog");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "leave-dialog";
    dialog.className = "dialog leave-dialog";
    dialog.setAttribute("aria-labelledby", "leave-dialog-title");
    dialog.setAttribute("aria-describedby", "leave-dialog-text");
    const title = document.createElement("h2");
    title.id = "leave-dialog-title";
    title.textContent = messages.leaveTitle;
    const text = document.createElement("p");
    text.id = "leave-dialog-text";
    text.textContent = messages.leaveText;
    const fields = document.createElement("div");
    fields.className = "leave-fields";
    const listTitle = document.createElement("p");
    listTitle.id = "leave-dialog-fields";
    listTitle.textContent = messages.leaveFields;
    const list = document.createElement("ul");
    list.setAttribute("aria-labelledby", listTitle.id);
    fields.append(listTitle, list);
    const actions = document.createElement("div");
    actions.className = "form-actions";
    [["stay", "button", messages.leaveStay], ["leave", "button-danger", messages.leaveGo]]
      .forEach(([value, style, label]) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = style;
        button.value = value;
        button.textContent = label;
        button.addEventListener("click", () => dialog.close(value));
        actions.appendChild(button);
      });
    dialog.append(title, text, fields, actions);
    document.body.appendChild(dialog);
    return dialog;
  }

  function askBeforeLeaving(forms, trigger, leave) {
    const dialog = leaveDialog();
    const names = [];
    forms.forEach((f) => changedFields(f).forEach((el) => {
      const name = fieldName(el);
      if (name && !names.includes(name)) names.push(name);
    }));
    const list = dialog.querySelector(".leave-fields ul");
    list.replaceChildren(...names.slice(0, 6).map((name) => {
      const item = document.createElement("li");
      item.textContent = name;
      return item;
    }));
    if (names.length > 6) {
      const more = document.createElement("li");
      more.textContent = messages.leaveMore;
      list.appendChild(more);
    }
    list.parentElement.hidden = names.length === 0;
    // Back to where the person was: the field they pressed Enter in, the link or the button.
    const focused = document.activeElement;
    const returnTo = focused && focused !== document.body ? focused : trigger;
    dialog.returnValue = "";
    dialog.onclose = () => {
      if (dialog.open) return; // the close of an earlier question: the question was asked again
      if (dialog.returnValue === "leave") { allowLeaving(); leave(); return; }
      if (returnTo && returnTo.focus) returnTo.focus();
    };
    dialog.showModal();
    dialog.querySelector('button[value="stay"]').focus();
  }

  // Only autosaved text is waiting: save it now and go on once saved; ask if it cannot be saved.
  async function leaveWhenSaved(forms, pending, trigger, leave) {
    if (!forms.length) {
      waitingForSave = true;
      const gaveUp = new Promise((resolve) => setTimeout(() => resolve([false]), SAVE_WAIT_MS));
      const results = await Promise.race([
        Promise.all(pending.map((f) => autosaved.get(f).saveNow())), gaveUp]);
      waitingForSave = false;
      if (results.every(Boolean)) { allowLeaving(); leave(); return; }
    }
    askBeforeLeaving(forms.length ? forms : pending, trigger, leave);
  }

  function leavesPage(link) {
    if ((link.target && link.target !== "_self") || link.hasAttribute("download")) return false;
    const url = new URL(link.href, window.location.href);
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    const here = window.location;
    const samePage = url.origin === here.origin && url.pathname === here.pathname
      && url.search === here.search;
    return !(samePage && link.href.includes("#")); // a place in this page (or "#"): not leaving
  }

  // --- One post at a time --------------------------------------------------------------------
  // A second click while the next page loads would post the form again: a comment or a change
  // request saved twice, a decision refused the second time. Once a post has left this page
  // (no listener stopped it), further posts are ignored until the page is shown again (the back
  // button) or the answer is so slow that clicking again is a deliberate retry.
  const REPOST_AFTER_MS = 10000;
  let postedAt = 0;
  window.addEventListener("submit", (event) => {
    if (event.target.method !== "post" || Date.now() - postedAt >= REPOST_AFTER_MS) return;
    event.preventDefault();
    event.stopImmediatePropagation();
  }, true); // capture, on window: before every other listener
  window.addEventListener("submit", (event) => {
    // Bubbling, on window: after every other listener, so only a post that really leaves counts.
    if (!event.defaultPrevented && event.target.method === "post") postedAt = Date.now();
  });
  window.addEventListener("pageshow", () => { postedAt = 0; });

  // Registered now, before the autosave's own submit listener, so a refused submit stops there.
  // htmx and the sign-in dialog prevent their own submits before this runs: those stay in the page.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (event.defaultPrevented || form.method === "dialog" || leavingAllowed()) return;
    if (asking()) { event.preventDefault(); return; }
    const others = changedForms().filter((f) => f !== form);
    const pending = unsavedAutosaves().filter((f) => f !== form);
    if (!others.length && !pending.length) { allowLeaving(); return; } // posting its own text
    event.preventDefault();
    const submitter = event.submitter && event.submitter.form === form ? event.submitter : null;
    leaveWhenSaved(others, pending, submitter, () => form.requestSubmit(submitter));
  });

  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return; // a new tab
    const link = event.target.closest && event.target.closest("a[href]");
    if (!link || !leavesPage(link) || leavingAllowed()) return;
    if (asking()) { event.preventDefault(); return; }
    const forms = changedForms();
    const pending = unsavedAutosaves();
    if (!forms.length && !pending.length) return;
    event.preventDefault();
    leaveWhenSaved(forms, pending, link, () => link.click());
  });

  window.addEventListener("beforeunload", (event) => {
    if (leavingAllowed() || (!changedForms().length && !unsavedAutosaves().length)) return;
    event.preventDefault();
    event.returnValue = ""; // older browsers show the prompt only when this is set
  });
  window.addEventListener("pageshow", () => { leaveAllowedUntil = 0; });
  document.addEventListener("htmx:load", (event) => rememberValues(event.detail.elt));

  document.addEventListener("DOMContentLoaded", () => {
    rememberValues(document);
    const summary = document.getElementById("error-summary");
    if (summary) summary.focus();
    document.querySelectorAll("form[data-autosave]").forEach(setupAutosave);
    const newRow = document.querySelector("[data-new-row]");
    if (newRow) {
      const first = newRow.querySelector("input, textarea, select");
      if (first) first.focus();
    }
  });
})();
