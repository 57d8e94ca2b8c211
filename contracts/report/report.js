// The HTML report's one behaviour: copy buttons beside commands. Inlined; fetches nothing.
(function () {
  "use strict";

  // Older browsers and pages the clipboard API refuses (not focused, no permission).
  function copyBySelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (error) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }

  // Nothing could copy: select the command, so Ctrl+C copies it.
  function selectForManualCopy(code) {
    var range = document.createRange();
    range.selectNodeContents(code);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function say(button, label, done) {
    button.textContent = label;
    button.classList.toggle("done", done);
    window.setTimeout(function () {
      button.textContent = "copy";
      button.classList.remove("done");
    }, 2000);
  }

  function copy(button) {
    var code = button.parentNode.querySelector("code");
    var text = code.textContent;
    function fallback() {
      if (copyBySelection(text)) {
        say(button, "copied", true);
      } else {
        selectForManualCopy(code);
        say(button, "press Ctrl+C", false);
      }
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () {
        say(button, "copied", true);
      }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button.copy") : null;
    if (button) {
      copy(button);
    }
  });
})();
