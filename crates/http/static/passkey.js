// Passkey ceremonies of the security centre: asks the server for options, lets the browser
// create or use a passkey, and sends the result back. Binary fields travel as base64url.
(function () {
  "use strict";
  function b64urlToBuf(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    var bin = atob(s), out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }
  function bufToB64url(buf) {
    var bytes = new Uint8Array(buf), bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) throw new Error((j.error && j.error.code) || ("HTTP " + r.status));
        return j;
      });
    });
  }
  function creationOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    pk.user.id = b64urlToBuf(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return { publicKey: pk };
  }
  function requestOptions(o) {
    var pk = o.publicKey;
    pk.challenge = b64urlToBuf(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = b64urlToBuf(c.id); });
    return { publicKey: pk };
  }
  function status(button, text) {
    var s = button.parentNode.querySelector(".passkey-status");
    if (s) s.textContent = text;
  }
  function register(button) {
    var csrf = button.dataset.csrf;
    var labelInput = document.getElementById("passkey-label");
    var ceremony;
    return post("/security/factors/passkey/begin", csrf).then(function (start) {
      ceremony = start.ceremony;
      return navigator.credentials.create(creationOptions(start.options));
    }).then(function (cred) {
      var credential = {
        id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
        extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
        response: {
          attestationObject: bufToB64url(cred.response.attestationObject),
          clientDataJSON: bufToB64url(cred.response.clientDataJSON),
          transports: cred.response.getTransports ? cred.response.getTransports() : []
        }
      };
      return post("/security/factors/passkey/finish", csrf, {
        ceremony: ceremony, credential: credential, label: labelInput ? labelInput.value : ""
      });
    }).then(function (done) {
      var codes = done.recovery_codes || [];
      if (!codes.length) { window.location.href = "/security/factors?notice=passkey_added"; return; }
      // The first factor comes with recovery codes, shown this once.
      var box = document.createElement("section");
      box.className = "card warn";
      box.setAttribute("data-testid", "recovery-codes");
      var p = document.createElement("p");
      p.textContent = button.dataset.codesNote || "";
      var ul = document.createElement("ul");
      ul.className = "codes";
      codes.forEach(function (c) {
        var li = document.createElement("li"), code = document.createElement("code");
        code.textContent = c;
        li.appendChild(code);
        ul.appendChild(li);
      });
      var a = document.createElement("a");
      a.href = "/security/factors?notice=passkey_added";
      a.className = "button primary";
      a.textContent = button.dataset.continue || "OK";
      box.appendChild(p); box.appendChild(ul); box.appendChild(a);
      button.closest("section").appendChild(box);
      status(button, "✓");
    });
  }
  function verify(button) {
    var csrf = button.dataset.csrf, ceremony;
    return post("/security/verify/passkey/begin", csrf).then(function (start) {
      ceremony = start.ceremony;
      return navigator.credentials.get(requestOptions(start.options));
    }).then(function (cred) {
      var credential = {
        id: cred.id, rawId: bufToB64url(cred.rawId), type: cred.type,
        extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
        response: {
          authenticatorData: bufToB64url(cred.response.authenticatorData),
          clientDataJSON: bufToB64url(cred.response.clientDataJSON),
          signature: bufToB64url(cred.response.signature),
          userHandle: cred.response.userHandle ? bufToB64url(cred.response.userHandle) : null
        }
      };
      return post("/security/verify/passkey/finish", csrf, { ceremony: ceremony, credential: credential });
    }).then(function () {
      var url = new URL(window.location.href);
      url.searchParams.set("notice", "verified");
      window.location.href = url.toString();
    });
  }
  function wire(selector, action) {
    document.querySelectorAll(selector).forEach(function (button) {
      if (button.dataset.wired) return;
      button.dataset.wired = "1";
      button.addEventListener("click", function () {
        if (!window.PublicKeyCredential) { status(button, "✗ passkeys_unsupported"); return; }
        button.disabled = true;
        status(button, "…");
        action(button).catch(function (e) {
          button.disabled = false;
          status(button, "✗ " + e.message);
        });
      });
    });
  }
  function init() {
    wire(".passkey-register", register);
    wire(".passkey-verify", verify);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
