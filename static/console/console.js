// Operator console: search as you type, keyboard-first call form.
(function () {
  "use strict";

  // --- search box: fetch matching clients while the operator types ---
  var input = document.getElementById("console-search");
  var list = document.getElementById("search-results");
  if (input && list) {
    var timer = null, seq = 0, active = -1;
    // The listed clients belong to the text typed before the last key until the
    // new results arrive: meanwhile Enter searches on the server, so a fast
    // typist never opens (and announces) the previous search's client.
    var stale = false;
    var items = function () { return list.querySelectorAll("li"); };
    var select = function (i) {
      var all = items();
      active = Math.max(-1, Math.min(i, all.length - 1));
      // The options are the links; the input keeps the focus and names the chosen
      // one (aria-activedescendant), so a screen reader reads it out.
      all.forEach(function (li, n) { li.firstChild.setAttribute("aria-selected", n === active ? "true" : "false"); });
      if (active >= 0) { input.setAttribute("aria-activedescendant", all[active].firstChild.id); }
      else { input.removeAttribute("aria-activedescendant"); }
    };
    var render = function (results) {
      list.textContent = "";
      results.forEach(function (r) {
        var li = document.createElement("li");
        li.setAttribute("role", "none");
        var a = document.createElement("a");
        a.href = r.url;
        a.id = "search-option-" + list.children.length;
        a.setAttribute("role", "option");
        var text = r.name + (r.name_kana ? "（" + r.name_kana + "）" : "");
        if (r.status !== "active") { text += " [" + r.status_label + "]"; }
        if (r.numbers.length) { text += "  " + r.numbers.join(" / "); }
        if (r.own_number) { text += "  " + input.dataset.ownNumberLabel + " " + r.own_number; }
        a.textContent = text;
        li.appendChild(a);
        list.appendChild(li);
      });
      stale = false;
      list.classList.remove("stale");
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", list.hidden ? "false" : "true");
      select(results.length ? 0 : -1);
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      stale = true;
      list.classList.add("stale");
      select(-1);
      var q = input.value.trim();
      if (!q) { render([]); return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        var url = input.dataset.endpoint + "?q=" + encodeURIComponent(q);
        if (input.dataset.caller) { url += "&caller=" + encodeURIComponent(input.dataset.caller); }
        fetch(url, { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.json() : { results: [] }; })
          .then(function (data) {
            if (mine === seq && input.value.trim() === q) { render(data.results); }
          })
          .catch(function () { /* the no-JS form still works */ });
      }, 150);
    });
    input.addEventListener("keydown", function (e) {
      // The Enter that confirms a kana-kanji conversion is not a choice.
      if (e.isComposing || e.keyCode === 229) { return; }
      var all = items();
      if (stale && (e.key === "ArrowDown" || e.key === "ArrowUp")) { e.preventDefault(); }
      else if (e.key === "ArrowDown") { select(active + 1); e.preventDefault(); }
      else if (e.key === "ArrowUp") { select(active - 1); e.preventDefault(); }
      else if (e.key === "Enter" && !stale && !list.hidden && active >= 0 && all[active]) {
        e.preventDefault();
        window.location.href = all[active].querySelector("a").href;
      } else if (e.key === "Escape") { render([]); }
    });
  }

  // --- call form ---
  var form = document.getElementById("call-form");
  if (!form) { return; }
  // When the operator started on this call, which dates it when the received
  // time is left blank: the ring for a screen pop, else the first thing typed
  // or chosen (not a lone Ctrl or Alt on the way to another window). The
  // page's time from the server plus the time since: a PC's clock may be
  // wrong, but it counts the minutes right, sleep included. Kept as it is when
  // the form comes back with an error.
  var started = form.querySelector("input[name=started_at]");
  var markStarted = function () {};
  if (started && !started.value) {
    var openedAt = Number(form.dataset.openedAt), loaded = Date.now();
    var stamp = function () {
      started.value = new Date(openedAt + (Date.now() - loaded)).toISOString();
    };
    if (form.dataset.rang) { stamp(); }
    var done = false;
    markStarted = function () {
      if (done) { return; }
      done = true;
      // A screen pop left open for a later call: dated by the typing.
      if (!form.dataset.rang || Date.now() - loaded > 10 * 60 * 1000) { stamp(); }
    };
    form.addEventListener("input", markStarted);
    form.addEventListener("change", markStarted);
  }

  // A field with an error, its message under it and all, between the rule
  // banner and the save bar (the page's scroll-padding): focus alone scrolls
  // the field just into view, and its message stayed hidden under the save
  // bar. Scrolled no further than that: centred, it took the form's heading
  // and the FAX notice under the banner on top (1366x768).
  var showWhole = function (el) {
    var whole = el.closest(".field, fieldset") || el;
    whole.scrollIntoView({ block: "nearest" });
  };
  // The callback number's read-back arrives a moment after the page and
  // pushes what is below it down, a field in error under the save bar: it is
  // shown whole again, until the operator does anything.
  var keepShown = function (el) {
    if (!window.ResizeObserver) { return; }
    var watch = new ResizeObserver(function () { showWhole(el); });
    watch.observe(form);
    var stop = function () { watch.disconnect(); };
    ["keydown", "pointerdown", "wheel", "touchstart"].forEach(function (type) {
      window.addEventListener(type, stop, { once: true, capture: true });
    });
    setTimeout(stop, 5000);
  };
  // The banner wraps to more lines on a narrow window: what the page scrolls
  // to stops below it whatever its height (console.css).
  var banner = document.querySelector(".rule-banner");
  var measureBanner = function () {
    if (banner) {
      document.documentElement.style.setProperty(
        "--rule-banner-height", banner.offsetHeight + "px");
    }
  };
  measureBanner();
  window.addEventListener("resize", measureBanner);

  var radios = form.querySelectorAll("input[name=category]");
  // The 無言 tick belongs to a nuisance call: shown with it, and unticked when
  // another category is chosen (the name, number and purpose come back).
  var silent = form.querySelector("input[name=is_silent]");
  var syncSales = function (picked) {
    var checked = form.querySelector("input[name=category]:checked");
    var value = checked ? checked.value : "";
    form.classList.toggle("is-sales", value === "sales");
    form.classList.toggle("is-nuisance", value === "nuisance");
    // Not on load: a tick refused with another category stays as it was sent.
    if (picked === true && silent && value !== "nuisance") { silent.checked = false; }
    form.classList.toggle("is-silent", !!silent && silent.checked);
  };
  var categoryPicked = function () { syncSales(true); };
  var pickCategory = function (key) {
    var radio = form.querySelector("input[name=category][data-key='" + key + "']");
    if (radio) { radio.checked = true; radio.focus(); categoryPicked(); markStarted(); return true; }
    return false;
  };
  // 5: a silent call, nuisance and 無言 in one key (Enter then saves it).
  var pickSilent = function () {
    if (!silent || !pickCategory("4")) { return false; }
    silent.checked = true;
    syncSales();
    return true;
  };
  radios.forEach(function (r) { r.addEventListener("change", categoryPicked); });
  if (silent) { silent.addEventListener("change", syncSales); }
  syncSales();

  // The received time is blank (the ring, or the first key) on nearly every
  // call: its field stays folded behind one 「日時を変更」 button, so Tab from
  // the memo reaches 保存 in two steps instead of walking the date's and the
  // time's six parts. For a call logged late, Enter or Space on the button
  // opens the field with the focus in it. Without the script the field shows.
  var changeTime = document.getElementById("received-at-change");
  var timeField = form.querySelector("input[name=received_at]");
  if (changeTime && timeField) {
    timeField.hidden = true;
    changeTime.hidden = false;
    changeTime.addEventListener("click", function () {
      timeField.hidden = false;
      changeTime.hidden = true;
      timeField.focus();
    });
  }

  var isLine = function (el) {
    return el.tagName === "INPUT" &&
      /^(text|tel|search|email|number|datetime-local)$/.test(el.type);
  };
  // Shown with the warning on a typed time outside the service's hours: the
  // next step from the time (Tab walks the time's own parts), and Enter on it
  // saves, as a category's does (whatever the browser does on a checkbox).
  var isOffHoursTick = function (el) { return el.name === "confirm_off_hours"; };
  form.addEventListener("keydown", function (e) {
    var onRadio = e.target.name === "category" || e.target === silent;
    // Digits 1-4 (5: silent) on the category, Alt+digit anywhere.
    if ((onRadio || e.altKey) && /^[1-5]$/.test(e.key)) {
      if (e.key === "5" ? pickSilent() : pickCategory(e.key)) { e.preventDefault(); }
      return;
    }
    // Ctrl/Cmd+Enter anywhere (textareas included); plain Enter on a category
    // or on the out-of-hours tick.
    if (e.key === "Enter" &&
        (e.ctrlKey || e.metaKey || onRadio || isOffHoursTick(e.target))) {
      e.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
      return;
    }
    // Plain Enter in a one-line field goes on to the next field to type in,
    // and from the last one to the save button. The browser would save the
    // call: one Enter too many after a kana-kanji conversion sent the client
    // a half-written report. (The Enter that confirms a conversion is not ours.)
    if (e.key === "Enter" && !e.altKey && !e.shiftKey && isLine(e.target) &&
        !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      var typed = Array.prototype.filter.call(form.elements, function (el) {
        return (isLine(el) || el.tagName === "TEXTAREA" || isOffHoursTick(el)) &&
          !el.disabled &&
          el.offsetParent !== null;
      });
      var next = typed[typed.indexOf(e.target) + 1] ||
        form.querySelector("button[type=submit]");
      if (next) { next.focus(); }
    }
  });

  // A date and time typed in part is sent by the browser as blank, which the
  // server reads as "now": the typed time would be lost without a word.
  form.addEventListener("submit", function (e) {
    var bad = Array.prototype.filter.call(form.elements, function (el) {
      return el.validity && el.validity.badInput && el.dataset.badInput;
    })[0];
    if (!bad) { return; }
    e.preventDefault();
    var id = bad.id + "-errors";
    var errors = document.getElementById(id);
    if (!errors) {
      errors = document.createElement("ul");
      errors.className = "errorlist";
      errors.id = id;
      bad.insertAdjacentElement("afterend", errors);
    }
    errors.textContent = "";
    var li = document.createElement("li");
    li.textContent = bad.dataset.badInput;
    errors.appendChild(li);
    bad.setAttribute("aria-invalid", "true");
    bad.setAttribute("aria-describedby", id);
    bad.closest(".field").classList.add("has-error");
    bad.focus({ preventScroll: true });
    showWhole(bad);
  });

  // Nothing typed is ever brought back by the browser (autocomplete="off" on
  // the form: Back after a save put half of the last caller's call into the
  // next one). Leaving a form with something typed in it asks first.
  var typedSomething = false, sending = false;
  var markTyped = function () { typedSomething = true; };
  form.addEventListener("input", markTyped);
  form.addEventListener("change", markTyped);
  window.addEventListener("beforeunload", function (e) {
    if (typedSomething && !sending) { e.preventDefault(); e.returnValue = ""; }
  });
  form.addEventListener("submit", function (e) {
    if (e.defaultPrevented) { return; }  // stopped above (a half-typed time)
    sending = true;
    // A login in another tab since this page was made gave the browser a new
    // form token: send that one, or the call would be refused and lost.
    var cookie = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    if (cookie && token) { token.value = decodeURIComponent(cookie[1]); }
  });

  // Focus: the first field with an error, otherwise the category for the next call.
  var focusName = form.dataset.focus;
  var target = null;
  if (focusName) {
    target = focusName === "category"
      ? form.querySelector("input[name=category]:checked")
      : form.querySelector("[name='" + focusName + "']");
  }
  if (!target) { target = form.querySelector("input[name=category]:checked") || radios[0]; }
  if (target) {
    target.focus({ preventScroll: !!focusName });
    if (focusName) { showWhole(target); keepShown(target); }
  }

  // A reason chosen as "other" needs the note: jump there.
  form.querySelectorAll("select[name$='_missing_reason']").forEach(function (sel) {
    sel.addEventListener("change", function () {
      if (sel.value === "other") { var note = form.querySelector("[name=missing_note]"); if (note) { note.focus(); } }
    });
  });
})();

// Callback number: read back the hyphenated form while the caller is on the line,
// and show the earlier calls from that number to this client.
(function () {
  "use strict";
  var form = document.getElementById("call-form");
  var field = document.getElementById("id_callback_number");
  var out = document.getElementById("callback-check");
  if (!form || !field || !out || !form.dataset.phoneEndpoint) { return; }
  var checked = null;
  // The caller's number when its history is shown beside the form.
  var callerInput = form.querySelector("input[name=caller_number]");
  var callerShown = callerInput && document.querySelector(".caller-history")
    ? callerInput.value : "";
  // Sent back with the server's error on the number: that message already says
  // what is wrong with this value, and the check would only repeat it. It is
  // checked again once something else is typed, and the server's message,
  // which is about the old value, then gives way to the check's.
  var serverErrors = document.getElementById("id_callback_number-errors");
  var judged = field.value.trim();
  var check = function () {
    var value = field.value.trim();
    if (value === checked) { return; }
    checked = value;
    out.textContent = "";
    out.className = "phone-check";
    if (!value || (serverErrors && value === judged)) { return; }
    var url = form.dataset.phoneEndpoint + "?number=" + encodeURIComponent(value) +
      "&client=" + encodeURIComponent(form.dataset.client || "") +
      (form.dataset.call ? "&call=" + encodeURIComponent(form.dataset.call) : "");
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data || field.value.trim() !== value) { return; }
        out.textContent = "";
        if (!data.ok) {
          out.textContent = data.error;
          out.className = "phone-check bad";
          return;
        }
        out.className = "phone-check good";
        var strong = document.createElement("strong");
        strong.textContent = data.display;
        out.appendChild(document.createTextNode(out.dataset.readback + " "));
        out.appendChild(strong);
        if (callerShown && data.e164 === callerShown) {
          // The caller's own number: its history is on the page already.
          out.appendChild(document.createTextNode(" " + out.dataset.sameAsCaller));
          return;
        }
        if (data.nuisance_count) {
          var alert = document.createElement("span");
          alert.className = "nuisance-alert";
          alert.textContent = out.dataset.nuisance.replace("{n}", data.nuisance_count);
          out.appendChild(alert);
        }
        if (data.calls.length) {
          var list = document.createElement("ul");
          list.className = "phone-history";
          data.calls.forEach(function (c) {
            var li = document.createElement("li");
            if (c.nuisance) { li.className = "nuisance"; }
            li.textContent = c.received_at + " " + c.category + " " + c.purpose;
            list.appendChild(li);
          });
          out.appendChild(document.createTextNode(" " + out.dataset.history));
          out.appendChild(list);
        }
      })
      .catch(function () { /* the server validates on save anyway */ });
  };
  var showServerErrors = function () {
    if (serverErrors) { serverErrors.hidden = field.value.trim() !== judged; }
  };
  field.addEventListener("change", showServerErrors);
  field.addEventListener("blur", showServerErrors);
  field.addEventListener("change", check);
  field.addEventListener("blur", check);
  if (serverErrors) { checked = judged; } else if (judged) { check(); }
})();
